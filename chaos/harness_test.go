package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

const (
	apiToken    = "chaos-api-token-5b0e9d2c71f4"
	appSecret   = "chaos-app-secret-3e7a90"
	ruleMatch   = "(?i)price"
	ruleText    = "Hi {{.FirstName}}, prices are on our site."
	defaultText = "Thanks for your comment, {{.FirstName}}!"
	// window is the reply window of comments and visitor posts (max_age unset).
	window = sandbox.ReplyWindow
	// scanPosts is how far back a poll reads the feed (scan_posts unset).
	scanPosts = 720 * time.Hour
)

var ruleRe = regexp.MustCompile(ruleMatch)

// Skip reasons, as pagereply names them (intake.Reason).
const (
	reasonOwn         = "own"
	reasonCannotReply = "cannot_reply"
	reasonTooOld      = "too_old"
	reasonNoRule      = "no_rule"
)

// rigOptions shapes a rig.
type rigOptions struct {
	sandbox sandbox.Options
	// redisURL is the Redis every process uses.
	redisURL string
	// asynq is the same Redis for the test's Inspector.
	asynq asynq.RedisConnOpt
	// every is each Page's poll schedule.
	every time.Duration
	// rate (per second) and burst of every Page.
	rate, burst int
	// noDefault says which Pages (by index) have no default text: there,
	// comments no rule matches get no reply.
	noDefault func(i int) bool
	// concurrency and maxRetry of the workers.
	concurrency, maxRetry int
	// graphTimeout is graph.timeout.
	graphTimeout time.Duration
}

// rig is the Graph sandbox over loopback, a config file, and the pagereply
// processes of one test.
type rig struct {
	t        *testing.T
	o        rigOptions
	bin      string
	sb       *sandbox.Sandbox
	cfgPath  string
	api      string
	pages    []sandbox.Page
	defaults map[string]bool // Page id → has a default text
	secrets  []string
	// killedMidSend is how many worker processes were SIGKILLed while they
	// may have had a send on the wire: see checkSends.
	killedMidSend int

	// chaosMu is held while a process is down on purpose, so alive does not
	// mistake a kill for a crash.
	chaosMu sync.Mutex
	procs   []*proctest.Proc

	mu sync.Mutex
	// apiTexts are the texts of replies the API accepted (202), by target id:
	// such a target's one reply has this text or the rule's.
	apiTexts map[string]string
	// perm are targets whose author blocks the Page: Graph answers 551
	// (permanent), so they must be archived, not sent.
	perm map[string]string // target id → Page id
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	o.sandbox.AppSecret = appSecret
	o.sandbox.LogCalls = true // busiestSecond reads CallLog
	// The sandbox records a call when its handler runs: a stall of this
	// process makes calls that came at their pace count together. The
	// checks of sends per second allow for the stalls it saw, only those.
	o.sandbox.WatchStalls = true
	sb := sandbox.New(o.sandbox)
	t.Cleanup(sb.Close)
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	r := &rig{t: t, o: o, bin: proctest.Binary(t, proctest.BuildOptions{}), sb: sb, api: proctest.FreeAddr(t),
		pages: sb.Pages(), defaults: map[string]bool{}, apiTexts: map[string]string{}, perm: map[string]string{}}
	cfg := proctest.Config{
		RedisURL: o.redisURL, GraphURL: gs.URL, AppSecret: appSecret, GraphTimeout: o.graphTimeout,
		Concurrency: o.concurrency, MaxRetry: o.maxRetry,
		APIAddr: r.api, APITokens: []string{apiToken},
	}
	for i, p := range r.pages {
		pc := proctest.Page{ID: p.ID, AccessToken: p.Token, Schedule: "@every " + o.every.String(),
			Rate: fmt.Sprintf("%d/s", o.rate), Burst: o.burst, ReplyTo: []string{"comments", "posts"},
			Rules: []proctest.Rule{{Match: ruleMatch, Text: ruleText}}}
		if o.noDefault == nil || !o.noDefault(i) {
			pc.DefaultText = defaultText
			r.defaults[p.ID] = true
		}
		cfg.Pages = append(cfg.Pages, pc)
		r.secrets = append(r.secrets, p.Token)
	}
	r.secrets = append(r.secrets, apiToken, appSecret)
	r.cfgPath = proctest.WriteConfig(t, cfg)
	return r
}

// start starts `pagereply <role> -c config`, named name.
func (r *rig) start(name, role string) *proctest.Proc {
	r.t.Helper()
	p := proctest.Start(r.t, r.bin, name, nil, role, "-c", r.cfgPath)
	r.procs = append(r.procs, p)
	return p
}

// alive returns an error for the first process that exited unasked.
func (r *rig) alive() error {
	r.chaosMu.Lock()
	defer r.chaosMu.Unlock()
	for _, p := range r.procs {
		if err := p.Alive(); err != nil {
			return err
		}
	}
	return nil
}

// killRestart kills p with SIGKILL, waits down, and starts it again.
func (r *rig) killRestart(p *proctest.Proc, down time.Duration) error {
	r.chaosMu.Lock()
	defer r.chaosMu.Unlock()
	p.Kill()
	time.Sleep(down)
	if err := p.Restart(); err != nil {
		return fmt.Errorf("restart %s after SIGKILL: %w", p.Name(), err)
	}
	return nil
}

// waitReady waits until the api role answers /readyz.
func (r *rig) waitReady(d time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	return proctest.WaitFor(d, "the api's /readyz", func() bool {
		resp, err := c.Get("http://" + r.api + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// postReply asks the api role for a reply to a comment and returns the HTTP
// status. A 202 records the text as the target's expected one.
func (r *rig) postReply(page, comment, text string) (int, error) {
	body, _ := json.Marshal(map[string]string{"page_id": page, "comment_id": comment, "text": text})
	req, err := http.NewRequest("POST", "http://"+r.api+"/v1/replies", bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("POST /v1/replies: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST /v1/replies: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusAccepted:
		r.mu.Lock()
		r.apiTexts[comment] = text
		r.mu.Unlock()
	case http.StatusConflict:
	default:
		return resp.StatusCode, fmt.Errorf("POST /v1/replies for %s: %d %s", comment, resp.StatusCode, b)
	}
	return resp.StatusCode, nil
}

// postReplyRetry is postReply, tried again for a while on a connection error
// or a 5xx (Redis may be restarting).
func (r *rig) postReplyRetry(page, comment, text string) error {
	var err error
	for range 20 {
		var code int
		if code, err = r.postReply(page, comment, text); err == nil || code != 0 && code < 500 {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
	return err
}

// isPerm reports whether a target's author blocks the Page.
func (r *rig) isPerm(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.perm[id] != ""
}

// postBatch asks the api role for several replies in one request and returns
// the status of each item.
func (r *rig) postBatch(page string, comments []string, text string) ([]int, error) {
	type one struct {
		PageID    string `json:"page_id"`
		CommentID string `json:"comment_id"`
		Text      string `json:"text"`
	}
	var in struct {
		Replies []one `json:"replies"`
	}
	for _, c := range comments {
		in.Replies = append(in.Replies, one{page, c, text})
	}
	body, _ := json.Marshal(in)
	req, err := http.NewRequest("POST", "http://"+r.api+"/v1/replies", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("POST /v1/replies batch: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST /v1/replies batch: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Results []struct {
			Status int `json:"status"`
		} `json:"results"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusMultiStatus {
		return nil, fmt.Errorf("POST /v1/replies batch: %d %s", resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, &out); err != nil || len(out.Results) != len(comments) {
		return nil, fmt.Errorf("POST /v1/replies batch: %v in %s", err, b)
	}
	codes := make([]int, len(comments))
	for i, res := range out.Results {
		codes[i] = res.Status
		switch res.Status {
		case http.StatusAccepted:
			r.mu.Lock()
			r.apiTexts[comments[i]] = text
			r.mu.Unlock()
		case http.StatusConflict:
		default:
			return codes, fmt.Errorf("POST /v1/replies batch item %s: %d in %s", comments[i], res.Status, b)
		}
	}
	return codes, nil
}

// addComment adds a fresh comment now on one of the Page's posts; with
// blocked, its author blocks the Page (every send to them gets 551).
func (r *rig) addComment(page string, n int, name, msg string, blocked bool) string {
	posts := r.sb.Posts(page)
	from := sandbox.User{ID: strconv.Itoa(880000000 + n), Name: name}
	if blocked {
		// Before the comment exists, so no poll can answer it first.
		r.sb.SetBlocked(from.ID, true)
	}
	id := r.sb.AddComment(posts[n%len(posts)].ID, from, msg, time.Now())
	if id == "" {
		r.t.Fatalf("add comment on Page %s: no post", page)
	}
	if blocked {
		r.mu.Lock()
		r.perm[id] = page
		r.mu.Unlock()
	}
	return id
}

// item is a comment or visitor post and what it must get, from the
// sandbox's data alone.
type item struct {
	page, id string
	post     bool
	// reason is why it gets no reply; "" when it must get one, with text.
	reason string
	text   string
	// visible: a full poll (the dry run) looks at it: a comment inside the
	// reply window, a visitor post inside scan_posts.
	visible bool
}

// firstName is what the config's templates use: the name's first word.
func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// expect sorts every comment and visitor post by the rules of SPEC.md and the
// config's rules; items within a minute of the reply window's or scan_posts'
// edge are left out (edge counts them): which side they fall on depends on
// when a poll reads them.
func (r *rig) expect(now time.Time) (items []item, edge int) {
	near := func(age, limit time.Duration) bool { return age > limit-time.Minute && age < limit+time.Minute }
	classify := func(page, id string, post, fromPage, canReply bool, created time.Time, from sandbox.User, msg string) {
		age := now.Sub(created)
		if near(age, window) || post && near(age, scanPosts) {
			edge++
			return
		}
		it := item{page: page, id: id, post: post, visible: age < window || post && age < scanPosts}
		switch {
		case fromPage:
			it.reason = reasonOwn
		case !canReply:
			it.reason = reasonCannotReply
		case age >= window:
			it.reason = reasonTooOld
		case ruleRe.MatchString(msg):
			it.text = "Hi " + firstName(from.Name) + ", prices are on our site."
		case r.defaults[page]:
			it.text = "Thanks for your comment, " + firstName(from.Name) + "!"
		default:
			it.reason = reasonNoRule
		}
		items = append(items, it)
	}
	for _, pg := range r.pages {
		for _, c := range r.sb.AllComments(pg.ID) {
			classify(pg.ID, c.ID, false, c.FromPage, c.CanReplyPrivately, c.CreatedTime, c.From, c.Message)
		}
		for _, p := range r.sb.Posts(pg.ID) {
			if p.FromPage {
				continue // the Page's own posts are not replied to, nor counted
			}
			classify(pg.ID, p.ID, true, p.FromPage, p.CanReplyPrivately, p.CreatedTime, p.From, p.Message)
		}
	}
	return items, edge
}

// missing returns how many eligible items, permanent failures aside, have no
// send yet.
func (r *rig) missing(items []item) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, it := range items {
		if it.reason == "" && r.perm[it.id] == "" && r.sb.SendCount(it.id) == 0 {
			n++
		}
	}
	return n
}

// checkSends wants, from the sandbox's record: exactly one send to each
// eligible item (with the rule's text, or the API's when the API was first),
// none to the others nor to the permanent failures, no duplicates, no token
// in a URL, and no Page over rate + burst in any one-second window.
func (r *rig) checkSends(t *testing.T, items []item) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	by := map[string][]sandbox.Send{}
	sends := r.sb.Sends()
	for _, s := range sends {
		by[s.Target] = append(by[s.Target], s)
	}
	bad, want := 0, 0
	fail := func(format string, args ...any) {
		t.Errorf(format, args...)
		if bad++; bad > 30 {
			t.Fatalf("too many wrong sends")
		}
	}
	for _, it := range items {
		got := by[it.id]
		switch {
		case it.reason != "":
			if len(got) != 0 {
				fail("%s on Page %s (%s) got %d replies, want none", it.id, it.page, it.reason, len(got))
			}
		case r.perm[it.id] != "":
			if len(got) != 0 {
				fail("%s on Page %s (author blocks the Page) got %d replies", it.id, it.page, len(got))
			}
		case len(got) != 1:
			want++
			fail("%s on Page %s: %d replies, want exactly 1", it.id, it.page, len(got))
		default:
			want++
			apiText, byAPI := r.apiTexts[it.id]
			if got[0].PageID != it.page || got[0].Text != it.text && !(byAPI && got[0].Text == apiText) {
				fail("%s: sent %q from Page %s, want %q from Page %s", it.id, got[0].Text, got[0].PageID, it.text, it.page)
			}
		}
	}
	if len(sends) != want {
		t.Errorf("the sandbox recorded %d sends, want %d", len(sends), want)
	}
	if d := r.sb.Duplicates(); d != 0 {
		t.Errorf("%d targets got more than one reply", d)
	}
	// Graph, and the sandbox, refuse a second reply to a comment or post
	// (10900) rather than send it: a second attempt shows only there.
	//   - A comment's doubtful send is settled by reading its
	//     private_reply_conversation first. Only a send still on its way when
	//     that read is answered slips past: a worker SIGKILLed with a send on
	//     the wire leaves it to arrive when it will (Graph too may act on a
	//     request late), one such attempt per kill at most. Any more is
	//     pagereply trying again where it knew better.
	//   - A visitor post has no private_reply_conversation (Graph answers
	//     code 100), so a post's doubtful send is sent again and Graph's one
	//     reply per post settles it (TestDoubtfulPostReply): one refusal per
	//     lost answer or kill at most. These were the refusals the short form
	//     saw in some runs before 4 Dec 2026's session 18 told them apart.
	posts := map[string]bool{}
	for _, it := range items {
		if it.post {
			posts[it.id] = true
		}
	}
	var onComments, onPosts int
	for _, rf := range r.sb.AlreadyReplied() {
		kind := "comment"
		if posts[rf.Target] {
			kind = "visitor post"
			onPosts++
		} else {
			onComments++
		}
		t.Logf("%s %s: a send refused as already replied (10900) at %s\n%s", kind, rf.Target, rf.Time.Format("15:04:05.000000"), r.story(rf.Target, by[rf.Target]))
	}
	if onComments > r.killedMidSend {
		t.Errorf("%d sends to comments were refused as already replied (10900), more than the %d worker kills could leave in flight: pagereply sent a second time", onComments, r.killedMidSend)
	}
	if lost := r.sb.DroppedAnswers(); onPosts > lost+r.killedMidSend {
		t.Errorf("%d sends to visitor posts were refused as already replied (10900), more than the %d lost answers and %d worker kills could put in doubt", onPosts, lost, r.killedMidSend)
	}
	if n := r.sb.TokensInURL(); n != 0 {
		t.Errorf("%d Graph calls carried the token in the URL", n)
	}
	for _, pg := range r.pages {
		if c := r.checkRate(pg.ID); c.Over() {
			t.Errorf("Page %s: more sends in one second than its rate of %d/s with burst %d allows: %s; the busiest second:\n%s",
				pg.ID, r.o.rate, r.o.burst, c, r.busiestSecond(pg.ID))
		}
	}
}

// checkRate measures a Page's send calls against its rate and burst: any
// second may hold rate + burst, and rate × the length of the stalls of the
// test's process (which serves the sandbox) around it more (a second with
// no stall, no more).
func (r *rig) checkRate(page string) sandbox.WindowCheck {
	return r.sb.CheckSends(page, time.Second, r.o.rate+r.o.burst, float64(r.o.rate))
}

// story tells what happened to one target, for a failure message: its sends
// in the sandbox, and every process's log lines that name it.
func (r *rig) story(target string, sends []sandbox.Send) string {
	var b strings.Builder
	for _, s := range sends {
		fmt.Fprintf(&b, "  sandbox: sent at %s (message %s)\n", s.Time.Format("15:04:05.000000"), s.MessageID)
	}
	for _, p := range r.procs {
		n := 0
		err := p.Lines(func(line []byte) bool {
			if bytes.Contains(line, []byte(target)) {
				fmt.Fprintf(&b, "  %s: %s\n", p.Name(), line)
				n++
			}
			return n < 40
		})
		if err != nil {
			fmt.Fprintf(&b, "  %s: %v\n", p.Name(), err)
		}
	}
	return b.String()
}

// busiestSecond lists the send calls of the Page's busiest one-second
// window, with the sends the sandbox recorded then, for a failure message.
func (r *rig) busiestSecond(page string) string {
	log := r.sb.CallLog(page)
	sort.Slice(log, func(i, j int) bool { return log[i].Before(log[j]) })
	best, from, lo := 0, 0, 0
	for hi := range log {
		for log[hi].Sub(log[lo]) >= time.Second {
			lo++
		}
		if hi-lo+1 > best {
			best, from = hi-lo+1, lo
		}
	}
	if best == 0 {
		return ""
	}
	var b strings.Builder
	sent := map[time.Time][]string{}
	for _, s := range r.sb.Sends() {
		if s.PageID == page {
			sent[s.Time] = append(sent[s.Time], s.Target)
		}
	}
	for _, at := range log[from : from+best] {
		fmt.Fprintf(&b, "  %s +%s sent %v\n", at.Format("15:04:05.000000"), at.Sub(log[from]).Round(time.Millisecond), sent[at])
	}
	return b.String()
}

// maxCallsIn returns the largest one-second count of sends over all Pages,
// and the stalls of the test's process around that second, if any.
func (r *rig) maxCallsIn() string {
	var best sandbox.WindowCheck
	for _, pg := range r.pages {
		if c := r.checkRate(pg.ID); c.Calls > best.Calls {
			best = c
		}
	}
	if len(best.Stalls) == 0 {
		return strconv.Itoa(best.Calls)
	}
	return best.String()
}

// stalls tells the stalls of the test's process the sandbox's stall watch
// saw, for a log line.
func (r *rig) stalls() string {
	st := r.sb.Stalls(time.Time{}, time.Now())
	if len(st) == 0 {
		return "none"
	}
	longest := st[0]
	for _, s := range st {
		if s.Len() > longest.Len() {
			longest = s
		}
	}
	return fmt.Sprintf("%d, the longest %s", len(st), longest)
}

// dryRun is what `pagereply poll --dry-run` printed for one Page.
type dryRun struct {
	seen, would, skipped int
	reasons              map[string]int
}

var (
	dryHeadRe   = regexp.MustCompile(`(?m)^(\d+) items seen; (\d+) would get a reply`)
	dryTotalRe  = regexp.MustCompile(`(?m)^skipped: (\d+)$`)
	dryReasonRe = regexp.MustCompile(`(?m)^  (\S+)\s+(\d+)$`)
)

// pollDryRun runs the binary's full dry-run poll of a Page: it reads every
// item inside the reply windows and counts, from pagereply's own rules and
// ledger, what would get a reply and what is skipped by reason (the ledger's
// sent and failed targets count as already_replied).
func (r *rig) pollDryRun(page string) (dryRun, error) {
	var res proctest.Result
	var runErr error
	err := proctest.WaitFor(2*time.Minute, "a dry-run poll of Page "+page+" that is not paused", func() bool {
		res, runErr = proctest.Exec(r.bin, time.Minute, "poll", "-c", r.cfgPath, "--page", page, "--dry-run")
		return runErr != nil || res.Code == 0 && !strings.Contains(res.Stderr, "paused")
	})
	if runErr != nil {
		return dryRun{}, runErr
	}
	if err != nil {
		return dryRun{}, fmt.Errorf("%w: exit %d\n%s\n%s", err, res.Code, res.Stdout, proctest.Tail(res.Stderr, 20))
	}
	d := dryRun{reasons: map[string]int{}}
	m := dryHeadRe.FindStringSubmatch(res.Stdout)
	mt := dryTotalRe.FindStringSubmatch(res.Stdout)
	if m == nil || mt == nil {
		return d, fmt.Errorf("dry run of Page %s: no counts in\n%s", page, res.Stdout)
	}
	d.seen, _ = strconv.Atoi(m[1])
	d.would, _ = strconv.Atoi(m[2])
	d.skipped, _ = strconv.Atoi(mt[1])
	for _, m := range dryReasonRe.FindAllStringSubmatch(res.Stdout[strings.Index(res.Stdout, "skipped:"):], -1) {
		n, _ := strconv.Atoi(m[2])
		d.reasons[m[1]] = n
	}
	return d, nil
}

// status is what `pagereply status` printed.
type status struct {
	sent, failed map[string]int // by Page
	archived     map[string]int // by queue
}

func (r *rig) status(t *testing.T) status {
	t.Helper()
	res := proctest.Run(t, r.bin, time.Minute, "status", "-c", r.cfgPath)
	if res.Code != 0 {
		t.Fatalf("pagereply status: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	st := status{sent: map[string]int{}, failed: map[string]int{}, archived: map[string]int{}}
	for _, row := range statusTable(res.Stdout, "QUEUE") {
		st.archived[row["QUEUE"]], _ = strconv.Atoi(row["ARCHIVED"])
	}
	for _, row := range statusTable(res.Stdout, "PAGE") {
		if _, err := strconv.ParseUint(row["PAGE"], 10, 64); err != nil {
			continue // a Page no longer configured, or tasks without one
		}
		st.sent[row["PAGE"]], _ = strconv.Atoi(row["SENT"])
		st.failed[row["PAGE"]], _ = strconv.Atoi(row["FAILED"])
	}
	if len(st.sent) != len(r.pages) || len(st.archived) == 0 {
		t.Fatalf("pagereply status: cannot read its tables:\n%s", res.Stdout)
	}
	return st
}

// statusTable reads the table of `pagereply status` whose header starts with
// first: one map per row, column name → cell, by the header's names, so a
// column added to the table does not shift what the test reads. The last
// column may hold spaces (PAUSED says for how long and why); a first cell
// with a space in it ("<id> (not configured)") comes back as its first word.
func statusTable(out, first string) []map[string]string {
	lines := strings.Split(out, "\n")
	var cols []string
	var rows []map[string]string
	for _, line := range lines {
		f := strings.Fields(line)
		if cols == nil {
			if len(f) > 0 && f[0] == first {
				cols = f
			}
			continue
		}
		if len(f) == 0 {
			break
		}
		row := map[string]string{}
		if len(f) > len(cols) { // spaces in the first or the last cell
			if strings.HasPrefix(f[1], "(") {
				f = append(f[:1], f[len(f)-len(cols)+1:]...)
			} else {
				f = append(f[:len(cols)-1], strings.Join(f[len(cols)-1:], " "))
			}
		}
		for i, c := range cols {
			if i < len(f) {
				row[c] = f[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// archivedReplies lists the archived reply tasks through asynq's Inspector:
// target → last error.
func (r *rig) archivedReplies(t *testing.T) map[string]string {
	t.Helper()
	insp := asynq.NewInspector(r.o.asynq)
	defer insp.Close()
	out := map[string]string{}
	for page := 1; ; page++ {
		list, err := insp.ListArchivedTasks(tasks.QueueReplies, asynq.Page(page), asynq.PageSize(500))
		if err != nil {
			if strings.Contains(err.Error(), "not found") {
				return out // the queue was never used
			}
			t.Fatalf("list archived reply tasks: %v", err)
		}
		for _, ti := range list {
			out[ti.ID] = ti.LastErr
		}
		if len(list) < 500 {
			return out
		}
	}
}

// reconcile checks that every count adds up, per Page, between the sandbox's
// record, the binary's full dry-run poll, `pagereply status` (the ledger) and
// asynq's archive:
//
//	dry-run seen = would (0: none missed) + skipped by reason
//	already_replied (ledger done) = status sent + status failed
//	status sent = the sandbox's sends; status failed = archived = permanent
//	own, cannot_reply, no_rule and too_old = the sandbox's data
//
// and prints them as a table.
func (r *rig) reconcile(t *testing.T, items []item, edge int) {
	t.Helper()
	st := r.status(t)
	archived := r.archivedReplies(t)
	r.mu.Lock()
	perm := make(map[string]string, len(r.perm))
	for k, v := range r.perm {
		perm[k] = v
	}
	r.mu.Unlock()
	for id, lastErr := range archived {
		target, err := tasks.ParseTarget(id)
		if err != nil || perm[target.ID] == "" {
			t.Errorf("reply task %s archived (%s), but Graph gave it no permanent error", id, lastErr)
		} else if !strings.Contains(lastErr, "551") {
			t.Errorf("reply task %s archived with %q, want Graph's 551", id, lastErr)
		}
	}
	for id := range perm {
		if _, ok := archived["comment:"+id]; !ok {
			t.Errorf("comment %s (Graph: 551, permanent) is not archived", id)
		}
	}
	if n := st.archived[tasks.QueuePolls]; n != 0 {
		t.Errorf("%d poll tasks archived: a poll must retry transient errors, not give up", n)
		insp := asynq.NewInspector(r.o.asynq)
		list, _ := insp.ListArchivedTasks(tasks.QueuePolls, asynq.PageSize(20))
		_ = insp.Close()
		for _, ti := range list {
			t.Logf("archived poll %s after %d retries: %s", ti.ID, ti.Retried, ti.LastErr)
		}
	}

	type row struct {
		page                                          string
		seen, would, sent, failed, archived, already  int
		own, cannot, tooOld, noRule, other, sbSends   int
		wantSent, wantOwn, wantCannot, wantOld, wantN int
	}
	sbSends := map[string]int{}
	for _, s := range r.sb.Sends() {
		sbSends[s.PageID]++
	}
	archivedBy := map[string]int{}
	for id := range archived {
		if target, err := tasks.ParseTarget(id); err == nil {
			archivedBy[perm[target.ID]]++
		}
	}
	permBy := map[string]int{}
	for _, p := range perm {
		permBy[p]++
	}
	var rows []row
	var total row
	total.page = "all"
	var wg sync.WaitGroup
	dry := make([]dryRun, len(r.pages))
	errs := make([]error, len(r.pages))
	sem := make(chan struct{}, 4)
	for i, pg := range r.pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			dry[i], errs[i] = r.pollDryRun(pg.ID)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, pg := range r.pages {
		d := dry[i]
		rw := row{page: pg.ID, seen: d.seen, would: d.would, sent: st.sent[pg.ID], failed: st.failed[pg.ID],
			archived: archivedBy[pg.ID], already: d.reasons["already_replied"], own: d.reasons[reasonOwn],
			cannot: d.reasons[reasonCannotReply], tooOld: d.reasons[reasonTooOld], noRule: d.reasons[reasonNoRule],
			sbSends: sbSends[pg.ID]}
		for reason, n := range d.reasons {
			switch reason {
			case "already_replied", reasonOwn, reasonCannotReply, reasonTooOld, reasonNoRule:
			default:
				rw.other += n
				t.Errorf("Page %s: dry run skipped %d items as %q", pg.ID, n, reason)
			}
		}
		for _, it := range items {
			if it.page != pg.ID || !it.visible {
				continue
			}
			switch it.reason {
			case "":
				rw.wantSent++
			case reasonOwn:
				rw.wantOwn++
			case reasonCannotReply:
				rw.wantCannot++
			case reasonTooOld:
				rw.wantOld++
			case reasonNoRule:
				rw.wantN++
			}
		}
		rows = append(rows, rw)
		for _, p := range []*[2]*int{
			{&total.seen, &rw.seen}, {&total.would, &rw.would}, {&total.sent, &rw.sent}, {&total.failed, &rw.failed},
			{&total.archived, &rw.archived}, {&total.already, &rw.already}, {&total.own, &rw.own}, {&total.cannot, &rw.cannot},
			{&total.tooOld, &rw.tooOld}, {&total.noRule, &rw.noRule}, {&total.other, &rw.other}, {&total.sbSends, &rw.sbSends},
			{&total.wantSent, &rw.wantSent}, {&total.wantOwn, &rw.wantOwn}, {&total.wantCannot, &rw.wantCannot},
			{&total.wantOld, &rw.wantOld}, {&total.wantN, &rw.wantN},
		} {
			*p[0] += *p[1]
		}

		// The identities.
		if rw.would != 0 {
			t.Errorf("Page %s: the dry run would still reply to %d items: missed", pg.ID, rw.would)
		}
		if rw.seen != rw.would+rw.already+rw.own+rw.cannot+rw.tooOld+rw.noRule+rw.other {
			t.Errorf("Page %s: seen %d != would %d + skipped %v", pg.ID, rw.seen, rw.would, d.reasons)
		}
		if d.skipped != rw.seen-rw.would {
			t.Errorf("Page %s: dry run skipped %d, but seen %d - would %d", pg.ID, d.skipped, rw.seen, rw.would)
		}
		if rw.already != rw.sent+rw.failed {
			t.Errorf("Page %s: already replied %d != ledger sent %d + failed %d", pg.ID, rw.already, rw.sent, rw.failed)
		}
		if rw.sent != rw.sbSends {
			t.Errorf("Page %s: ledger sent %d != the sandbox's %d sends", pg.ID, rw.sent, rw.sbSends)
		}
		if rw.failed != rw.archived || rw.archived != permBy[pg.ID] {
			t.Errorf("Page %s: ledger failed %d, archived %d, permanent errors %d: want all equal", pg.ID, rw.failed, rw.archived, permBy[pg.ID])
		}
		// Against the sandbox's data; items at an edge may land either side.
		for _, c := range []struct {
			what      string
			got, want int
		}{
			{"replied or failed", rw.already, rw.wantSent},
			{reasonOwn, rw.own, rw.wantOwn},
			{reasonCannotReply, rw.cannot, rw.wantCannot},
			{reasonTooOld, rw.tooOld, rw.wantOld},
			{reasonNoRule, rw.noRule, rw.wantN},
		} {
			if diff := c.got - c.want; diff > edge || -diff > edge {
				t.Errorf("Page %s: dry run counts %d %s, the sandbox's data %d (%d items at an edge)", pg.ID, c.got, c.what, c.want, edge)
			}
		}
	}

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PAGE\tSEEN\t= SENT\t+ ARCHIVED\t+ OWN\t+ CANNOT_REPLY\t+ TOO_OLD\t+ NO_RULE\t+ WOULD\t| LEDGER_FAILED\tSANDBOX_SENDS\tEXPECTED_ELIGIBLE\t")
	for _, rw := range append(rows, total) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t| %d\t%d\t%d\t\n", rw.page, rw.seen, rw.sent, rw.archived,
			rw.own, rw.cannot, rw.tooOld, rw.noRule, rw.would, rw.failed, rw.sbSends, rw.wantSent)
	}
	tw.Flush()
	t.Logf("counts (SEEN, skip reasons and WOULD from `pagereply poll --dry-run` per Page; SENT and LEDGER_FAILED from `pagereply status`; ARCHIVED from asynq's Inspector; SANDBOX_SENDS from the Graph sandbox; EXPECTED_ELIGIBLE from the sandbox's data, permanent failures included):\n%s", b.String())
}

// checkNoSecrets fails t when a process log holds a secret.
func (r *rig) checkNoSecrets(t *testing.T) {
	t.Helper()
	for _, p := range r.procs {
		log := p.Log()
		for _, s := range r.secrets {
			if strings.Contains(log, s) {
				t.Errorf("the log of %s holds a secret (%.6s...)", p.Name(), s)
			}
		}
	}
}

// stopAll stops every process with SIGTERM; each must exit 0.
func (r *rig) stopAll(t *testing.T) {
	t.Helper()
	var wg sync.WaitGroup
	for _, p := range r.procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := p.Stop(45 * time.Second)
			if err != nil || code != 0 {
				t.Errorf("%s: exit %d after SIGTERM (%v)", p.Name(), code, err)
			}
		}()
	}
	wg.Wait()
}

// pollLines counts the JSON log lines with msg in a process's log, from the
// run given on (1 = the first).
func pollLines(t *testing.T, p *proctest.Proc, msg string, fromRun int) int {
	t.Helper()
	run, n := 0, 0
	needle := []byte(`"msg":"` + msg + `"`)
	err := p.Lines(func(l []byte) bool {
		if bytes.HasPrefix(l, []byte("=== proctest: ")) {
			run++
		}
		if run >= fromRun && bytes.Contains(l, needle) {
			n++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitSends waits until the sandbox has recorded n sends, while every
// process stays up.
func (r *rig) waitSends(n int, d time.Duration) error {
	var dead error
	err := proctest.WaitFor(d, fmt.Sprintf("%d sends", n), func() bool {
		if dead = r.alive(); dead != nil {
			return true
		}
		return len(r.sb.Sends()) >= n
	})
	if dead != nil {
		return dead
	}
	return err
}

// waitLedgerSettled waits, for up to d, until every Page's ledger counts as
// sent what the sandbox received. A reply whose worker was killed between the
// send and the ledger's mark, or whose answer was lost, is recorded only when
// its task comes back (asynq's lease recovery, or the retry) and Graph
// confirms it: the sandbox can have every reply before the ledger does. The
// workers must still run; reconcile then checks the counts.
func (r *rig) waitLedgerSettled(t *testing.T, d time.Duration) {
	t.Helper()
	behind := ""
	err := proctest.WaitFor(d, "the ledger to record every send", func() bool {
		if err := r.alive(); err != nil {
			t.Fatal(err)
		}
		sb := map[string]int{}
		for _, s := range r.sb.Sends() {
			sb[s.PageID]++
		}
		st := r.status(t)
		behind = ""
		for _, pg := range r.pages {
			if st.sent[pg.ID] < sb[pg.ID] {
				behind += fmt.Sprintf(" page %s: %d of %d;", pg.ID, st.sent[pg.ID], sb[pg.ID])
			}
		}
		return behind == ""
	})
	if err != nil {
		t.Logf("%v: still behind:%s", err, behind)
	}
}
