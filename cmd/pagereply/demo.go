package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
)

func init() {
	register("demo", "the whole pipeline in one process: embedded Redis, Graph sandbox, every role", runDemo)
}

// demoConfig is the generated configuration. Tokens come in through ${VAR}
// expansion from an in-memory environment, so they are never in a file.
const demoConfig = `redis:
  url: ${DEMO_REDIS_URL}
graph:
  base_url: ${DEMO_GRAPH_URL}
  timeout: 5s
pages:
%s
worker:
  concurrency: 20
  max_retry: 3
api:
  addr: ${DEMO_API_ADDR}
  tokens: ["${DEMO_API_TOKEN}"]
  monitor: true
log:
  level: ${DEMO_LOG_LEVEL}
  format: text
`

const demoPage = `  - id: "%s"
    access_token: ${DEMO_PAGE_TOKEN_%d}
    schedule: "@every 10s"
    rate: 20/s
    burst: 5
    reply_to: [comments, posts, conversations]
    rules:
      - match: "(?i)price|cost|how much"
        text: "Hi {{.FirstName}}, our prices are on example.com/prices. Anything else?"
    default_text: "Thanks for your message, {{.FirstName}}!"
`

// demoCounts is what the demo expects for one Page, worked out from the
// seeded data with the poll's own eligibility rules.
type demoCounts struct {
	seen     int
	eligible int
	skipped  map[intake.Reason]int
	// targets are the eligible items, whose ledger entries tell how many are
	// handled (demoHandled).
	targets []tasks.Target
	// messages is the eligible conversations' target (the person's message
	// the reply answers) by conversation id: the sandbox records a
	// conversation reply by its person, the API names it by that message.
	messages map[string]tasks.Target
}

func runDemo(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "demo", "demo [--once] [--redis URL] [--addr HOST:PORT]",
		"pagereply demo --once")
	once := fs.Bool("once", false, "exit 0 when every seeded eligible comment, post and message is handled (sent or refused), 1 if not within --timeout, when stopped first, or when a comment or post was sent a second private reply")
	redisURL := fs.String("redis", "", "use this Redis (redis://host:port/db) instead of an embedded one: an empty database, or one only the demo has used (it refuses another deployment's)")
	addr := fs.String("addr", "127.0.0.1:8080", "address of the API and monitor (port 0 picks a free one)")
	pages := fs.Int("pages", 3, "Pages to seed in the Graph sandbox")
	posts := fs.Int("posts", 8, "posts per Page")
	comments := fs.Int("comments", 12, "comments per post, replies included")
	convs := fs.Int("conversations", 5, "Messenger conversations per Page")
	seed := fs.Int64("seed", 1, "seed of the sandbox's data")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --once, how long to wait for every reply")
	verbose := fs.Bool("v", false, "log at info level (default: warnings only)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *pages < 1 || *pages > 50 || *posts < 0 || *comments < 0 || *convs < 0 {
		fmt.Fprintln(env.stderr, "pagereply demo: --pages must be 1 to 50; --posts, --comments and --conversations at least 0")
		return exitUsage
	}
	addrErr := config.CheckHostPort(*addr, true)
	if addrErr == nil && strings.ContainsAny(*addr, "/ ") {
		addrErr = errors.New("is not host:port, like 127.0.0.1:8080")
	}
	if addrErr != nil {
		fmt.Fprintf(env.stderr, "pagereply demo: --addr %q %v (127.0.0.1:0 picks a free port)\n", *addr, addrErr)
		return exitUsage
	}
	if *timeout <= 0 {
		fmt.Fprintf(env.stderr, "pagereply demo: --timeout %s: must be more than 0, like 2m\n", *timeout)
		return exitUsage
	}
	out := env.stdout
	fail := func(format string, a ...any) int {
		fmt.Fprintf(env.stderr, "pagereply demo: "+format+"\n", a...)
		return exitError
	}

	// Redis: embedded unless --redis.
	vars := map[string]string{"DEMO_LOG_LEVEL": "warn", "DEMO_API_ADDR": *addr}
	if *verbose {
		vars["DEMO_LOG_LEVEL"] = "info"
	}
	if *redisURL == "" {
		mr, stop, err := startMiniredis()
		if err != nil {
			return fail("embedded Redis: %v", err)
		}
		defer stop()
		vars["DEMO_REDIS_URL"] = "redis://" + mr.Addr() + "/0"
	} else {
		vars["DEMO_REDIS_URL"] = *redisURL
	}

	// The Graph sandbox on a loopback port.
	sb := sandbox.New(sandbox.Options{Pages: *pages, Posts: *posts, Comments: *comments, Conversations: *convs,
		VisitorPosts: true, Seed: *seed})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fail("sandbox: %v", err)
	}
	sbSrv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = sbSrv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sbSrv.Shutdown(sctx)
	}()
	vars["DEMO_GRAPH_URL"] = "http://" + ln.Addr().String()

	// The generated configuration.
	var pageYAML strings.Builder
	for i, p := range sb.Pages() {
		fmt.Fprintf(&pageYAML, demoPage, p.ID, i)
		vars[fmt.Sprintf("DEMO_PAGE_TOKEN_%d", i)] = p.Token
	}
	apiToken := randomHex(16)
	vars["DEMO_API_TOKEN"] = apiToken
	cfg, err := config.Parse([]byte(fmt.Sprintf(demoConfig, pageYAML.String())), func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	})
	if err != nil {
		var fe *config.FieldError
		if errors.As(err, &fe) && strings.HasPrefix(fe.Error(), "redis") {
			// The flag's problem, in its words: not the generated config's
			// key and line, which the user never saw.
			fmt.Fprintf(env.stderr, "pagereply demo: --redis: %s\n", fe.Msg)
			return exitUsage
		}
		return fail("generated config: %v", err)
	}
	a, err := newApp(cfg, newLogger(cfg.Log, env.stderr))
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply demo: --redis: %v\n", err)
		return exitUsage
	}
	defer a.Close()
	// go-redis's own lines about a Redis out of reach ("redis: connection
	// pool: failed to dial ...") at debug until Redis has answered, as the
	// error below says the same once; as warnings afterwards, when Redis
	// goes away during the run.
	tasks.SetRedisLoggerAt(a.log, slog.LevelDebug)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = a.rdb.Ping(pctx).Err()
	cancel()
	if err == nil {
		tasks.SetRedisLogger(a.log)
	}
	if err != nil {
		// A database the server lacks, or a refused password, is the
		// URL's mistake: no retry mends it.
		if cerr := a.redisConfigError(err); cerr != nil {
			// The flag's problem, not the generated config's key.
			fmt.Fprintf(env.stderr, "pagereply demo: --redis: %s\n", strings.TrimPrefix(cerr.Error(), "redis.url: "))
			return exitUsage
		}
		return fail("Redis at %s does not answer: %v (start it, or leave out --redis for an embedded Redis)", cfg.Redis.Describe(), err)
	}
	if *redisURL != "" {
		if code := claimDemoDatabase(ctx, env, a, cfg); code >= 0 {
			return code
		}
	}

	expect := demoExpect(cfg, sb, time.Now())
	total := 0
	for _, c := range expect {
		total += c.eligible
	}

	r, err := startRoles(ctx, a, allRoles(), roleOptions{workerShutdown: 5 * time.Second})
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			// Exit 1, as serve, api and sandbox answer an address in use:
			// another process's state, not a mistake in the command.
			fmt.Fprintf(env.stderr, "pagereply demo: --addr %s is in use: pass another, or --addr 127.0.0.1:0 for a free port\n", *addr)
			return exitError
		}
		return fail("%v", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		r.shutdown(sctx)
	}()

	apiURL := "http://" + r.api.Addr()
	fmt.Fprintf(out, "pagereply demo: %d Pages in the Graph sandbox at %s, Redis %s\n", len(cfg.Pages), vars["DEMO_GRAPH_URL"], redisLabel(*redisURL, cfg))
	fmt.Fprintf(out, "  API      %s   (token %s)\n", apiURL, apiToken)
	fmt.Fprintf(out, "  monitor  %s/monitor/   (sign in at %s/login with the token)\n", apiURL, apiURL)
	fmt.Fprintf(out, "  metrics  %s/metrics\n", apiURL)
	fmt.Fprintf(out, "  try      curl -H 'Authorization: Bearer %s' %s/v1/replies/<id>\n", apiToken, apiURL)
	fmt.Fprintf(out, "%d comments, posts and messages are eligible for a reply; polling every 10s.\n\n", total)

	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var deadline <-chan time.Time
	if *once {
		t := time.NewTimer(*timeout)
		defer t.Stop()
		deadline = t.C
	}
	insp := asynq.NewInspector(a.redis)
	defer insp.Close()
	done := false
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(out, "\nstopping...")
			if *once && !done {
				// --once promises exit 0 only once every item is handled: a
				// script or CI job stopped early must not read a success.
				return fail("--once: stopped before every eligible item was handled")
			}
			return exitOK
		case err := <-r.apiDone():
			return fail("api stopped: %v", err)
		case <-deadline:
			sent, failed := demoHandled(ctx, a.ledger, cfg, expect)
			printDemoSummary(out, cfg, expect, a.ledger, ctx)
			return fail("--once: only %d of %d eligible items handled after %s", sent+failed, total, *timeout)
		case <-tick.C:
		}
		sent, failed := demoHandled(ctx, a.ledger, cfg, expect)
		backlog := queueBacklog(insp, tasks.QueueReplies)
		if done {
			continue
		}
		fmt.Fprintf(out, "%5.0fs  sent %d/%d, refused %d, queued %d\n", time.Since(start).Seconds(), sent, total, failed, backlog)
		if sent+failed >= total && backlog == 0 {
			done = true
			fmt.Fprintln(out)
			twice := printDemoSends(out, sb, expect, sent, 5)
			printDemoSummary(out, cfg, expect, a.ledger, ctx)
			if *once {
				if twice > 0 {
					return fail("--once: %d sends went to a comment or post that had its private reply already", twice)
				}
				return exitOK
			}
			fmt.Fprintf(out, "\nAll replies are out. The API and monitor stay up at %s until Ctrl-C.\n", apiURL)
		}
	}
}

// claimDemoDatabase makes sure the database given with --redis is the demo's
// (see foreignData) and records this run's Pages in it. It returns -1 to go
// on, or the exit code: 2 for another deployment's database, which it leaves
// untouched.
func claimDemoDatabase(ctx context.Context, env *cmdEnv, a *app, cfg *config.Config) int {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	insp := asynq.NewInspector(a.redis)
	why, err := foreignData(cctx, a.rdb, insp)
	_ = insp.Close()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply demo: Redis at %s: %v\n", cfg.Redis.Describe(), err)
		return exitError
	}
	if why != "" {
		fmt.Fprintf(env.stderr, "pagereply demo: --redis: the database at %s is not the demo's: %s.\n"+
			"The demo runs a worker, the scheduler and the API on it: it would take another deployment's reply tasks and write into its queues. "+
			"Give the demo an empty database (another number after the port), or leave out --redis for an embedded Redis.\n",
			cfg.Redis.Describe(), why)
		return exitUsage
	}
	pages := make([]string, len(cfg.Pages))
	for i, p := range cfg.Pages {
		pages[i] = p.ID
	}
	if err := markDemoDatabase(cctx, a.rdb, pages); err != nil {
		fmt.Fprintf(env.stderr, "pagereply demo: Redis at %s: %v\n", cfg.Redis.Describe(), err)
		return exitError
	}
	if err := forgetDemoPollState(cctx, a.rdb, a.ledger, pages); err != nil {
		fmt.Fprintf(env.stderr, "pagereply demo: Redis at %s: %v\n", cfg.Redis.Describe(), err)
		return exitError
	}
	return -1
}

// startMiniredis starts an embedded Redis and a clock that ticks it: miniredis
// expires keys only when told time has passed, and leases, TTLs and pauses
// depend on expiry.
func startMiniredis() (*miniredis.Miniredis, func(), error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return nil, nil, err
	}
	stop := make(chan struct{})
	ticked := make(chan struct{})
	go func() {
		defer close(ticked)
		last := time.Now()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				mr.SetTime(now)
				mr.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return mr, func() {
		close(stop)
		<-ticked
		mr.Close()
	}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redisLabel(flag string, cfg *config.Config) string {
	if flag == "" {
		return "embedded (" + cfg.Redis.Describe() + ")"
	}
	return cfg.Redis.Describe()
}

// demoExpect classifies every seeded item with the poll's rules.
func demoExpect(cfg *config.Config, sb *sandbox.Sandbox, now time.Time) map[string]*demoCounts {
	out := map[string]*demoCounts{}
	for i := range cfg.Pages {
		pg := &cfg.Pages[i]
		c := &demoCounts{skipped: map[intake.Reason]int{}, messages: map[string]tasks.Target{}}
		out[pg.ID] = c
		count := func(it intake.Item, reason intake.Reason) {
			c.seen++
			if reason == "" {
				_, reason, _ = intake.Check(pg, it, now)
			}
			if reason == "" {
				c.eligible++
				c.targets = append(c.targets, it.Target)
				return
			}
			c.skipped[reason]++
		}
		user := func(u sandbox.User) graph.User { return graph.User{ID: u.ID, Name: u.Name} }
		for _, p := range sb.Posts(pg.ID) {
			if pg.Replies(config.ReplyPosts) && !p.FromPage {
				count(intake.Item{Target: tasks.Target{Kind: tasks.KindPost, ID: p.ID}, From: user(p.From), Message: p.Message,
					PostID: p.ID, Created: p.CreatedTime, CanReplyPrivately: p.CanReplyPrivately}, "")
			}
			if !pg.Replies(config.ReplyComments) {
				continue
			}
			for _, cm := range sb.Comments(p.ID) {
				from := user(cm.From)
				if cm.FromPage {
					from = graph.User{ID: pg.ID}
				}
				count(intake.Item{Target: tasks.Target{Kind: tasks.KindComment, ID: cm.ID}, From: from, Message: cm.Message,
					PostID: p.ID, CommentID: cm.ID, Created: cm.CreatedTime, CanReplyPrivately: cm.CanReplyPrivately}, "")
			}
		}
		if pg.Replies(config.ReplyConversations) {
			for _, cv := range sb.Conversations(pg.ID) {
				gc := graph.Conversation{ID: cv.ID, Participants: []graph.User{user(cv.With), {ID: pg.ID}}}
				for j := len(cv.Messages) - 1; j >= 0; j-- { // newest first, as Graph lists them
					m := cv.Messages[j]
					from := user(m.From)
					if m.FromPage {
						from = graph.User{ID: pg.ID}
					}
					gc.Messages = append(gc.Messages, graph.Message{ID: m.ID, Message: m.Text, From: &from,
						CreatedTime: graph.Time{Time: m.CreatedTime}})
				}
				it, reason := intake.ConversationItem(pg.ID, gc)
				count(it, reason)
				if reason == "" {
					c.messages[cv.ID] = it.Target
				}
			}
		}
	}
	return out
}

// demoHandled counts this run's eligible items (expect) that the ledger has
// sent or failed, over the Pages. Not the Pages' ledger counts: on a database
// an earlier run used with other flags, those count replies to items this
// run does not have, and would call it done before its own were answered.
func demoHandled(ctx context.Context, l *tasks.Ledger, cfg *config.Config, expect map[string]*demoCounts) (sent, failed int) {
	for _, p := range cfg.Pages {
		s, f := demoPageHandled(ctx, l, p.ID, expect[p.ID])
		sent += s
		failed += f
	}
	return sent, failed
}

// demoPageHandled counts the eligible items of one Page that the ledger has
// sent or failed.
func demoPageHandled(ctx context.Context, l *tasks.Ledger, page string, c *demoCounts) (sent, failed int) {
	entries, err := l.GetMany(ctx, page, c.targets)
	if err != nil {
		return 0, 0
	}
	for _, e := range entries {
		switch e.Status {
		case tasks.StatusSent:
			sent++
		case tasks.StatusFailed:
			failed++
		}
	}
	return sent, failed
}

// queueBacklog is the queue's tasks not yet finished: pending, active,
// scheduled and retry.
func queueBacklog(insp *asynq.Inspector, q string) int {
	info, err := insp.GetQueueInfo(q)
	if err != nil {
		return 0
	}
	return info.Pending + info.Active + info.Scheduled + info.Retry
}

var demoReasons = []intake.Reason{intake.SkipOwn, intake.SkipCannotReply, intake.SkipTooOld, intake.SkipNoRule}

func printDemoSummary(w io.Writer, cfg *config.Config, expect map[string]*demoCounts, l *tasks.Ledger, ctx context.Context) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	head := "PAGE\tSEEN\tELIGIBLE\tSENT\tREFUSED"
	for _, r := range demoReasons {
		head += "\tSKIPPED " + strings.ToUpper(string(r))
	}
	fmt.Fprintln(tw, head)
	for _, p := range cfg.Pages {
		c := expect[p.ID]
		sent, failed := demoPageHandled(ctx, l, p.ID, c)
		line := fmt.Sprintf("%s\t%d\t%d\t%d\t%d", p.ID, c.seen, c.eligible, sent, failed)
		for _, r := range demoReasons {
			line += fmt.Sprintf("\t%d", c.skipped[r])
		}
		fmt.Fprintln(tw, line)
	}
	_ = tw.Flush()
}

// printDemoSends shows a few of the messages the sandbox received, and how
// many of the eligible items the ledger has as sent (ledgerSent) this run did
// not send: with --redis, a database an earlier demo run used already holds
// the seeded items as sent (the sandbox seeds the same ids), and they are not
// answered twice.
//
// It returns how many sends went to a comment or post that had its private
// reply already: Graph refuses those (code 10900) and the sandbox counts
// them, as it counts any second reply it took. pagereply makes none; the
// demo says so, and a number that is not 0 is a failure of its guarantee.
//
// A send is named as the API names its reply (demoSendID), so that it can be
// copied into GET /v1/replies/{id}.
func printDemoSends(w io.Writer, sb *sandbox.Sandbox, expect map[string]*demoCounts, ledgerSent, n int) (twice int) {
	sends := sb.Sends()
	sort.Slice(sends, func(i, j int) bool { return sends[i].Time.Before(sends[j].Time) })
	if earlier := ledgerSent - len(sends); earlier > 0 {
		fmt.Fprintf(w, "%d replies were sent by an earlier run on this database; the ledger kept them from being sent twice.\n", earlier)
	}
	if len(sends) == 0 {
		fmt.Fprintln(w, "This run sent no reply.")
	} else {
		fmt.Fprintf(w, "%d replies sent by this run; the first %d:\n", len(sends), min(n, len(sends)))
		for _, s := range sends[:min(n, len(sends))] {
			fmt.Fprintf(w, "  %-52s %q\n", demoSendID(s, expect), s.Text)
		}
	}
	twice = sb.AlreadyRepliedCount() + sb.Duplicates()
	if twice > 0 {
		fmt.Fprintf(w, "%d sends went to a comment or post that had its private reply already.\n\n", twice)
	} else {
		fmt.Fprint(w, "No comment or post was sent a second private reply.\n\n")
	}
	return twice
}

// demoSendID names a sandbox send as the API names its reply:
// comment:<id>, post:<id>, or message:<id> of the person's message a
// conversation reply answered (from expect, by the send's conversation),
// where the demo printed the sandbox's kind and target apart ("comment
// <id>", a conversation's by its person's PSID), which no API call takes.
func demoSendID(s sandbox.Send, expect map[string]*demoCounts) string {
	switch s.Kind {
	case sandbox.KindComment:
		return tasks.Target{Kind: tasks.KindComment, ID: s.Target}.String()
	case sandbox.KindPost:
		return tasks.Target{Kind: tasks.KindPost, ID: s.Target}.String()
	}
	if c := expect[s.PageID]; c != nil {
		if t, ok := c.messages[s.ConversationID]; ok {
			return t.String()
		}
	}
	return "conversation_id " + s.ConversationID
}
