package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
)

func init() {
	register("sandbox", "run the Graph API sandbox on its own", runSandbox)
}

// sandboxShutdownTimeout bounds how long in-flight requests may take to finish
// after Ctrl-C.
const sandboxShutdownTimeout = 5 * time.Second

func runSandbox(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "sandbox", "sandbox [flags]",
		"pagereply sandbox --addr 127.0.0.1:8089 --pages 2 --rate 10")
	addr := fs.String("addr", "127.0.0.1:8089", "address to listen on (port 0 picks a free one)")
	pages := fs.Int("pages", 3, "number of Pages to seed")
	posts := fs.Int("posts", 20, "posts per Page")
	comments := fs.Int("comments", 30, "comments per post, replies included")
	convs := fs.Int("conversations", 5, "Messenger conversations per Page")
	visitorPosts := fs.Bool("visitor-posts", true, "seed some visitors' posts on the Pages")
	seed := fs.Int64("seed", 1, "seed of every random choice: same seed, same Pages and tokens")
	rate := fs.Float64("rate", 0, "sends per second allowed per Page before code 80006 (0: unlimited)")
	readRate := fs.Float64("read-rate", 0, "reads per second allowed per Page and rate limit type before code 80001 (feed, comments, objects) or 80006 (conversations) (0: unlimited)")
	block := fs.Duration("block", time.Minute, "how long a Page past --rate or --read-rate is refused")
	fail := fs.Float64("fail", 0, "share of requests (0 to 1) answered with a transient 500")
	drop := fs.Float64("drop", 0, "share of sends (0 to 1) whose answer is dropped after the send")
	latency := fs.Duration("latency", 0, "latency added to every request")
	jitter := fs.Duration("jitter", 0, "largest random latency added on top of --latency")
	secret := fs.String("app-secret", "", "require appsecret_proof made with this app secret")
	notLive := fs.Bool("app-not-live", false, "the app is not live (not through App Review): refuse each send to a person not in --app-testers with code 10, subcode 2018028, as Meta does")
	testers := fs.String("app-testers", "", "with --app-not-live, the person ids (comma-separated) with a role on the app, whom sends still reach")
	var grow rateFlag
	fs.Var(&grow, "grow", "add visitors' comments (some replies, now and then a post or a message) at this rate across the Pages, like 5/s or 30/m (default: none)")
	hookURL := fs.String("webhook", "", "with --grow, deliver each new comment and post to this URL as Meta's signed feed webhook does, signed with $"+sandboxAppSecretEnv+" (or --app-secret)")
	hookBatch := fs.Duration("webhook-batch", sandbox.DefaultWebhookBatchWindow, "with --webhook, gather the changes that arise within this long after a first into one delivery (an entry per Page, up to 1,000 changes), as Meta batches them (0: each change its own delivery)")
	hookRetryFor := fs.Duration("webhook-retry-for", sandboxWebhookRetryFor, "with --webhook, deliver a delivery not answered 2xx again, the same signed body, 1, 2, 4 … s apart (the waits capped at a minute) for this long after its first try, as Meta does for 36 hours, then give it up (0: one try, no redelivery)")
	growReels := fs.Bool("grow-reels", false, "with --grow, now and then publish a Reel and add comments to the newest Reels (no webhook delivery: Meta's feed names no reel item)")
	growRemovals := fs.Bool("grow-removals", false, "with --grow, now and then delete a comment it added (Graph then answers code 100, subcode 33), delivered as verb remove")
	growHides := fs.Bool("grow-hides", false, "with --grow, now and then hide a comment it added as the Page does (is_hidden), or show a hidden one again, delivered as verb hide or unhide")
	growFor := fs.Duration("grow-for", 0, "with --grow, stop adding after this long, serving and delivering on (0: add until stopped)")
	growLog := fs.String("grow-log", "", "with --grow, write each item added, and each webhook delivery answered 2xx, to this file as JSON lines")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if err := checkSandboxFlags(fs); err != nil {
		fmt.Fprintf(env.stderr, "pagereply sandbox: %v\n", err)
		return exitUsage
	}
	hookSecret, err := sandboxWebhookFlags(env, grow.r.N > 0, *hookURL, *secret)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply sandbox: %v\n", err)
		return exitUsage
	}
	testerIDs, err := sandboxTesters(*notLive, *testers)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply sandbox: %v\n", err)
		return exitUsage
	}
	if grow.r.N == 0 && (*growReels || *growRemovals || *growHides || *growLog != "" || *growFor != 0) {
		fmt.Fprintf(env.stderr, "pagereply sandbox: --grow-reels, --grow-removals, --grow-hides, --grow-for and --grow-log change what --grow adds: give --grow too\n")
		return exitUsage
	}
	if *hookURL == "" && flagGiven(fs, "webhook-batch") {
		fmt.Fprintf(env.stderr, "pagereply sandbox: --webhook-batch batches what --webhook delivers: give --webhook too\n")
		return exitUsage
	}
	if *hookURL == "" && flagGiven(fs, "webhook-retry-for") {
		fmt.Fprintf(env.stderr, "pagereply sandbox: --webhook-retry-for says how long --webhook redelivers: give --webhook too\n")
		return exitUsage
	}

	sb := sandbox.New(sandbox.Options{
		Pages:         *pages,
		Posts:         *posts,
		Comments:      *comments,
		Conversations: *convs,
		VisitorPosts:  *visitorPosts,
		Seed:          *seed,
		SendRate:      *rate,
		ReadRate:      *readRate,
		ThrottleBlock: *block,
		AppSecret:     *secret,
		GrowReels:     *growReels,
		GrowRemovals:  *growRemovals,
		GrowHides:     *growHides,
		Faults:        sandbox.Faults{FailRate: *fail, DropRate: *drop, Latency: *latency, Jitter: *jitter},
		AppNotLive:    *notLive,
		AppTesters:    testerIDs,
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			fmt.Fprintf(env.stderr, "pagereply sandbox: --addr %s is in use (a sandbox still running?): stop it, or pass another --addr (127.0.0.1:0 for a free port)\n", *addr)
			return exitError
		}
		fmt.Fprintf(env.stderr, "pagereply sandbox: --addr: %v\n", err)
		return exitError
	}
	var growth *sandboxGrowth
	if grow.r.N > 0 {
		var hook *sandbox.Webhook
		if *hookURL != "" {
			hook = newSandboxWebhook(*hookURL, hookSecret, *hookBatch, *hookRetryFor)
		}
		growth = newSandboxGrowth(sb, grow.r, hook, env.stderr)
		if *growLog != "" {
			f, err := os.OpenFile(*growLog, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
			if err != nil {
				ln.Close()
				fmt.Fprintf(env.stderr, "pagereply sandbox: --grow-log: %v\n", err)
				return exitError
			}
			defer f.Close()
			growth.setLog(f)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /_sandbox/stats", sandboxStats(sb, growth))
	mux.Handle("GET /_sandbox/sends", sandboxSends(sb))
	mux.Handle("/", sb)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// Scripts read these lines: keep their form exact.
	for _, p := range sb.Pages() {
		fmt.Fprintf(env.stdout, "page %s token %s\n", p.ID, p.Token)
	}
	fmt.Fprintf(env.stderr, "sandbox listening on http://%s\n", ln.Addr())
	fmt.Fprintf(env.stderr, "what it received: curl http://%s/_sandbox/stats\n", ln.Addr())
	// The growth runs until this returns, whichever way: a Serve that fails
	// stops it too, and is waited for.
	gctx, stopGrowth := context.WithCancel(ctx)
	growDone := make(chan struct{})
	defer func() { stopGrowth(); <-growDone }()
	if growth != nil {
		to := ""
		if *hookURL != "" {
			to = ", each comment and post delivered to " + redactedURL(*hookURL)
		}
		fmt.Fprintf(env.stderr, "adding visitors' comments at %s across the Pages%s\n", grow.r, to)
		ticker := time.NewTicker(sandboxGrowTick)
		start := time.Now()
		if *growFor > 0 {
			growth.until = start.Add(*growFor)
		}
		go func() {
			defer close(growDone)
			defer ticker.Stop()
			growth.run(gctx, start, ticker.C)
		}()
	} else {
		close(growDone)
	}

	select {
	case err := <-served:
		fmt.Fprintf(env.stderr, "pagereply sandbox: serving: %v\n", err)
		return exitError
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), sandboxShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintf(env.stderr, "pagereply sandbox: shutting down: %v\n", err)
		return exitError
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(env.stderr, "pagereply sandbox: serving: %v\n", err)
		return exitError
	}
	<-growDone
	st := sandboxStatsOf(sb, growth)
	fmt.Fprintf(env.stderr, "sandbox stopped after %d sends; %d comments or posts got more than one private reply; %d sends refused as already replied; %d throttled\n",
		st.Sends, st.Duplicates, st.AlreadyReplied, st.Throttled)
	if growth != nil {
		fmt.Fprintf(env.stderr, "sandbox added %d comments (%d of them replies), %d posts, %d messages\n",
			st.Grown.Comments, st.Grown.Replies, st.Grown.Posts, st.Grown.Messages)
		if w := st.Webhook; w != nil {
			fmt.Fprintf(env.stderr, "webhook deliveries: %d delivered, %d retries, %d failed, %d dropped\n", w.Delivered, w.Retried, w.Failed, w.Dropped)
		}
	}
	return exitOK
}

// sandboxTesters reads --app-testers: person ids, comma-separated, each
// digits only, as Graph's are. It needs --app-not-live.
func sandboxTesters(notLive bool, list string) ([]string, error) {
	if list == "" {
		return nil, nil
	}
	if !notLive {
		return nil, errors.New("--app-testers names whom an app not live may message: give --app-not-live too")
	}
	var ids []string
	for _, id := range strings.Split(list, ",") {
		id = strings.TrimSpace(id)
		if id == "" || strings.Trim(id, "0123456789") != "" {
			return nil, fmt.Errorf("--app-testers: %q is not a person id (digits, comma-separated)", id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// checkSandboxFlags rejects values that make no sense, naming the flag.
func checkSandboxFlags(fs *flag.FlagSet) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		switch v := g.Get().(type) {
		case string:
			if f.Name == "addr" {
				if aerr := config.CheckHostPort(v, true); aerr != nil {
					err = fmt.Errorf("--addr %q %w", v, aerr)
				}
			}
		// Each message says the range, not only that the value is out of it.
		case int:
			switch {
			case f.Name == "pages" && v < 1:
				err = fmt.Errorf("--%s: %d is out of range: at least 1", f.Name, v)
			case v < 0:
				err = fmt.Errorf("--%s: %d is out of range: at least 0", f.Name, v)
			}
		case int64:
		case float64:
			switch {
			case (f.Name == "fail" || f.Name == "drop") && (v < 0 || v > 1):
				err = fmt.Errorf("--%s: %v is out of range: a share from 0 to 1, like 0.1", f.Name, v)
			case v < 0:
				err = fmt.Errorf("--%s: %v is out of range: at least 0 (0: unlimited)", f.Name, v)
			}
		case time.Duration:
			switch {
			case f.Name == "block" && v <= 0:
				err = fmt.Errorf("--%s: %v is out of range: more than 0, like 1m", f.Name, v)
			case v < 0:
				err = fmt.Errorf("--%s: %v is out of range: at least 0", f.Name, v)
			}
		}
	})
	return err
}

// sandboxStatsBody is what GET /_sandbox/stats answers: what the sandbox
// received, for someone trying pagereply against it by hand. It is not a Graph
// endpoint (Graph has nothing like it); the path keeps clear of Graph's.
type sandboxStatsBody struct {
	// Sends are the private replies and messages that went through.
	Sends int `json:"sends"`
	// Duplicates are the comments and posts that got more than one private
	// reply: 0 unless the sandbox is wrong (Graph refuses a second one).
	Duplicates int `json:"duplicates"`
	// AlreadyReplied are the sends refused with code 10900: a client that
	// tried a target twice.
	AlreadyReplied int `json:"already_replied"`
	// Throttled are the calls refused with code 80006 (--rate).
	Throttled int `json:"throttled"`
	// InjectedFailures and DroppedAnswers are the faults --fail and --drop made.
	InjectedFailures int `json:"injected_failures"`
	DroppedAnswers   int `json:"dropped_answers"`
	// TokensInURL are requests that carried access_token in the URL.
	TokensInURL int `json:"tokens_in_url"`
	// Calls are the requests per endpoint (feed, comments, object, messages,
	// conversations, thread, unknown), failed ones included.
	Calls map[string]int `json:"calls"`
	// Pages are the same by Page.
	Pages map[string]sandboxPageStats `json:"pages"`
	// Grown is what --grow added: comments (replies among them), visitors'
	// posts, messages; all 0 without it.
	Grown sandbox.GrowStats `json:"grown"`
	// Webhook counts --webhook's deliveries; absent without it.
	Webhook *sandboxWebhookStats `json:"webhook,omitempty"`
}

type sandboxPageStats struct {
	Sends     int `json:"sends"`
	Throttled int `json:"throttled"`
	// MaxSendCallsIn1s is the most POST /messages calls (refused ones
	// included) inside any one second: at most rate + burst of the Page's
	// pages[].rate when pagereply keeps to it. The sandbox keeps it as the
	// calls come (sandbox.SendPeak), not a log, however long it runs.
	MaxSendCallsIn1s int `json:"max_send_calls_in_1s"`
	// MaxReadsIn1s is, with --read-rate, the most reads of the Page its read
	// throttle counted inside one second, per rate limit type ("pages": feed,
	// comments, objects; "messenger": conversations): at most --read-rate (1
	// below 1 a second) with a --block of a second or more; a shorter block
	// restarts the throttle's window, so a second may hold more.
	// Refused reads are not counted. Absent without --read-rate. The sandbox
	// keeps these numbers, not a log of the reads, however long it runs.
	MaxReadsIn1s map[string]int `json:"max_reads_in_1s,omitempty"`
}

func sandboxStatsOf(sb *sandbox.Sandbox, growth *sandboxGrowth) sandboxStatsBody {
	st := sandboxStatsBody{
		Duplicates: sb.Duplicates(), AlreadyReplied: sb.AlreadyRepliedCount(), Throttled: sb.ThrottledCount(""),
		InjectedFailures: sb.InjectedFailures(), DroppedAnswers: sb.DroppedAnswers(), TokensInURL: sb.TokensInURL(),
		Calls: sb.Calls(), Pages: map[string]sandboxPageStats{}, Grown: sb.GrowStats(), Webhook: growth.webhookStats(),
	}
	for _, p := range sb.Pages() {
		st.Pages[p.ID] = sandboxPageStats{Throttled: sb.ThrottledCount(p.ID), MaxSendCallsIn1s: sb.MaxCallsIn(p.ID, time.Second),
			MaxReadsIn1s: sb.ReadPeaks(p.ID)}
	}
	for _, s := range sb.Sends() {
		st.Sends++
		ps := st.Pages[s.PageID]
		ps.Sends++
		st.Pages[s.PageID] = ps
	}
	return st
}

// sandboxSends answers GET /_sandbox/sends: every send that went through,
// in order, one JSON object a line (the text left out).
func sandboxSends(sb *sandbox.Sandbox) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		for _, s := range sb.Sends() {
			_ = enc.Encode(sandboxSendLine{PageID: s.PageID, Kind: s.Kind, Target: s.Target, RecipientID: s.RecipientID,
				ConversationID: s.ConversationID, MessageID: s.MessageID, At: s.Time, Dropped: s.Dropped})
		}
	})
}

// sandboxSendLine is a line of GET /_sandbox/sends: a sandbox.Send without
// its text, which is left out (where it was written "Text":"", which read
// as an empty message sent). Its keys are snake_case, as Graph's and the
// --grow-log file's (page_id, message_id, at), where they were Go's field
// names (PageID), so a script joins the two logs by the same names.
type sandboxSendLine struct {
	PageID         string    `json:"page_id"`
	Kind           string    `json:"kind"`
	Target         string    `json:"target"`
	RecipientID    string    `json:"recipient_id,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	MessageID      string    `json:"message_id"`
	At             time.Time `json:"at"`
	Dropped        bool      `json:"dropped"`
}

func sandboxStats(sb *sandbox.Sandbox, growth *sandboxGrowth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sandboxStatsOf(sb, growth))
	})
}

// flagGiven tells whether the flag name was given on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
