package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// The reply rules of TestServePollEndToEnd. Page 0 has no default text, so
// comments the rule does not match are skipped there (no rule).
const (
	servePollMatch   = "(?i)price"
	servePollRule    = "Hi {{.FirstName}}, prices are on our site."
	servePollDefault = "Thanks for your comment, {{.FirstName}}!"
	servePollEvery   = 2 * time.Second
	// servePollWindow is the reply window (SPEC: 7 days after the comment).
	servePollWindow = 7 * 24 * time.Hour
)

var servePollRe = regexp.MustCompile(servePollMatch)

// servePollText renders the rules of Page i independently of config.Page.Render:
// FirstName is the first word of the name.
func servePollText(i int, name, msg string) (string, bool) {
	first := ""
	if f := strings.Fields(name); len(f) > 0 {
		first = f[0]
	}
	if servePollRe.MatchString(msg) {
		return "Hi " + first + ", prices are on our site.", true
	}
	if i == 0 {
		return "", false
	}
	return "Thanks for your comment, " + first + "!", true
}

// servePollTarget is one seeded comment or visitor post and what it must get.
type servePollTarget struct {
	page, id, why string
	text          string // "" when it must get no reply
}

// servePollExpect sorts the sandbox's comments and visitor posts into those
// that must get exactly one reply (with its text) and those that must get
// none (with the reason), from the sandbox's data alone. Items within a minute
// of the reply window's edge are left out: which side of it they fall on
// depends on when the poll reads them.
func servePollExpect(sb *sandbox.Sandbox, now time.Time) (want, none []servePollTarget, edge int) {
	classify := func(i int, page, id string, fromPage, canReply bool, created time.Time, from sandbox.User, msg string) {
		age := now.Sub(created)
		t := servePollTarget{page: page, id: id}
		text, ok := servePollText(i, from.Name, msg)
		switch {
		case fromPage:
			t.why = "page's own"
		case !canReply:
			t.why = "can't reply"
		case age > servePollWindow-time.Minute && age < servePollWindow+time.Minute:
			edge++
			return
		case age >= servePollWindow:
			t.why = "too old"
		case !ok:
			t.why = "no rule"
		default:
			t.text = text
			want = append(want, t)
			return
		}
		none = append(none, t)
	}
	for i, pg := range sb.Pages() {
		for _, c := range sb.AllComments(pg.ID) {
			classify(i, pg.ID, c.ID, c.FromPage, c.CanReplyPrivately, c.CreatedTime, c.From, c.Message)
		}
		for _, p := range sb.Posts(pg.ID) {
			classify(i, pg.ID, p.ID, p.FromPage, p.CanReplyPrivately, p.CreatedTime, p.From, p.Message)
		}
	}
	return want, none, edge
}

// pollLog counts the JSON log lines msg of a process's stderr by page_id and slot.
func pollLog(t *testing.T, stderr, msg string) map[string]int {
	t.Helper()
	out := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"msg":"`+msg+`"`) {
			continue
		}
		var l struct {
			PageID string `json:"page_id"`
			Slot   int64  `json:"slot"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out[fmt.Sprintf("%s@%d", l.PageID, l.Slot)]++
	}
	return out
}

// TestServePollEndToEnd is issue 4's first bullet with the real binary: 3
// Pages × 20 posts × 30 comments, served by `pagereply serve` (worker and API)
// with two `pagereply scheduler` processes side by side polling every 2s.
// Every eligible comment and visitor post gets exactly one reply with the
// right text; the Page's own, those that cannot be replied to, the too old and
// those no rule matches get none; comments added while it runs get theirs
// within two poll periods; each poll slot runs once.
func TestServePollEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: runs for about 20s")
	}
	e := newE2EPages(t, sandbox.Options{Pages: 3, Posts: 20, Comments: 30, Seed: 1, VisitorPosts: true},
		func(i int, p sandbox.Page) string {
			def := servePollDefault
			if i == 0 {
				def = ""
			}
			return fmt.Sprintf(`  - id: "%s"
    access_token: "%s"
    schedule: "@every %s"
    rate: 10000/s
    burst: 100
    reply_to: [comments, posts]
    rules:
      - match: %q
        text: %q
    default_text: %q
`, p.ID, p.Token, servePollEvery, servePollMatch, servePollRule, def)
		})
	want, none, edge := servePollExpect(e.sb, time.Now())
	why := map[string]int{}
	for _, n := range none {
		why[n.why]++
	}
	t.Logf("seeded: %d must get a reply, %d must not %v, %d at the window's edge left out", len(want), len(none), why, edge)
	if len(want) < 900 || why["page's own"] == 0 || why["can't reply"] == 0 || why["too old"] == 0 || why["no rule"] == 0 {
		t.Fatalf("sandbox mix %d eligible, ineligible %v: the test proves little", len(want), why)
	}

	srv := start(t, "serve", "-c", e.cfgPath, "--roles", "worker,api")
	e.waitHealthy(t, srv)
	began := time.Now()
	sch1 := start(t, "scheduler", "-c", e.cfgPath)
	sch2 := start(t, "scheduler", "-c", e.cfgPath)
	procs := map[string]*proc{"serve": srv, "scheduler 1": sch1, "scheduler 2": sch2}

	missing := func(list []servePollTarget) int {
		n := 0
		for _, w := range list {
			if e.sb.SendCount(w.id) == 0 {
				n++
			}
		}
		return n
	}
	alive := func() {
		for name, p := range procs {
			select {
			case <-p.done:
				t.Fatalf("%s exited %d:\n%.3000s", name, p.code, p.stderr)
			default:
			}
		}
	}
	eventually(t, 60*time.Second, fmt.Sprintf("replies to all %d eligible items", len(want)), func() bool {
		alive()
		return missing(want) == 0
	})
	t.Logf("%d eligible items answered %s after the schedulers started", len(want), time.Since(began).Round(time.Millisecond))

	// Comments added while it runs: on each Page, some a rule matches and one
	// only the default text answers (none on Page 0: no rule, no reply).
	type added struct {
		servePollTarget
		at time.Time
	}
	var fresh []added
	var freshNone []servePollTarget
	pages := e.sb.Pages()
	for i, pg := range pages {
		posts := e.sb.Posts(pg.ID)
		for j, msg := range []string{"price please", "What's the PRICE?", "nice shop"} {
			name := fmt.Sprintf("Late%d%d Visitor", i, j)
			at := time.Now()
			id := e.sb.AddComment(posts[(i*7+j*5)%len(posts)].ID, sandbox.User{ID: fmt.Sprintf("7770001%02d%02d", i, j), Name: name}, msg, at)
			text, ok := servePollText(i, name, msg)
			if !ok {
				freshNone = append(freshNone, servePollTarget{page: pg.ID, id: id, why: "no rule"})
				continue
			}
			fresh = append(fresh, added{servePollTarget{page: pg.ID, id: id, text: text}, at})
		}
	}
	if len(fresh) < 5 {
		t.Fatalf("only %d comments added", len(fresh))
	}
	limit := 2 * servePollEvery
	slack := 2 * time.Second // CI and -race
	deadline := time.Now().Add(limit + slack + 5*time.Second)
	for _, f := range fresh {
		for e.sb.SendCount(f.id) == 0 && time.Now().Before(deadline) {
			alive()
			time.Sleep(20 * time.Millisecond)
		}
	}
	sentAt := map[string]sandbox.Send{}
	for _, s := range e.sb.Sends() {
		if _, ok := sentAt[s.Target]; !ok {
			sentAt[s.Target] = s
		}
	}
	var worst time.Duration
	var waits []string
	for _, f := range fresh {
		s, ok := sentAt[f.id]
		if !ok {
			t.Fatalf("comment %s added while running got no reply within %s", f.id, time.Since(f.at).Round(time.Millisecond))
		}
		d := s.Time.Sub(f.at)
		waits = append(waits, d.Round(time.Millisecond).String())
		worst = max(worst, d)
	}
	t.Logf("comments added while running answered after %v (two poll periods: %s, slack %s)", waits, limit, slack)
	if worst > limit+slack {
		t.Errorf("a comment added while running waited %s for its reply, want within two poll periods (%s) + %s slack", worst, limit, slack)
	}
	for _, f := range fresh {
		want = append(want, f.servePollTarget)
	}
	none = append(none, freshNone...)

	// A few more poll periods, with both schedulers polling: nothing new.
	time.Sleep(2*servePollEvery + 500*time.Millisecond)
	alive()
	// Stop the schedulers, let the worker finish the polls they queued, then
	// stop it: every process exits cleanly on SIGTERM.
	stop := func(name string, p *proc) {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if code := p.wait(t, 30*time.Second); code != 0 {
			t.Errorf("%s exited %d after SIGTERM:\n%.3000s", name, code, p.stderr)
		}
	}
	stop("scheduler 1", sch1)
	stop("scheduler 2", sch2)
	enq := pollLog(t, sch1.stderr.String(), "poll enqueued")
	for slot, n := range pollLog(t, sch2.stderr.String(), "poll enqueued") {
		enq[slot] += n
	}
	eventually(t, 10*time.Second, "the worker to run every poll enqueued", func() bool {
		runs := pollLog(t, srv.stderr.String(), "poll done")
		for slot := range enq {
			if runs[slot] == 0 {
				return false
			}
		}
		return true
	})
	stop("serve", srv)

	sends := e.sb.Sends()
	byTarget := map[string][]sandbox.Send{}
	for _, s := range sends {
		byTarget[s.Target] = append(byTarget[s.Target], s)
	}
	for _, w := range want {
		got := byTarget[w.id]
		if len(got) != 1 {
			t.Errorf("%s on Page %s: %d sends, want 1", w.id, w.page, len(got))
			continue
		}
		if got[0].Text != w.text || got[0].PageID != w.page {
			t.Errorf("%s: sent %q from Page %s, want %q from Page %s", w.id, got[0].Text, got[0].PageID, w.text, w.page)
		}
	}
	for _, n := range none {
		if c := len(byTarget[n.id]); c != 0 {
			t.Errorf("%s (%s) got %d sends: %q", n.id, n.why, c, byTarget[n.id][0].Text)
		}
	}
	if len(sends) != len(want) {
		t.Errorf("the sandbox recorded %d sends, want %d", len(sends), len(want))
	}
	if d, r := e.sb.Duplicates(), e.sb.AlreadyRepliedCount(); d != 0 || r != 0 {
		t.Errorf("%d targets got more than one reply, %d sends refused as already replied (10900)", d, r)
	}
	if n := e.sb.TokensInURL(); n != 0 {
		t.Errorf("%d Graph calls with the token in the URL", n)
	}

	// Each poll slot was enqueued by one scheduler and run once by the worker.
	runs := pollLog(t, srv.stderr.String(), "poll done")
	for slot, n := range enq {
		if n != 1 {
			t.Errorf("poll slot %s enqueued %d times by the two schedulers", slot, n)
		}
		if runs[slot] != 1 {
			t.Errorf("poll slot %s ran %d times", slot, runs[slot])
		}
	}
	for slot, n := range runs {
		if enq[slot] == 0 {
			t.Errorf("poll slot %s ran %d times but no scheduler enqueued it", slot, n)
		}
	}
	for name, p := range map[string]*proc{"scheduler 1": sch1, "scheduler 2": sch2} {
		if len(pollLog(t, p.stderr.String(), "poll already enqueued"))+len(pollLog(t, p.stderr.String(), "poll enqueued")) == 0 {
			t.Errorf("%s never fired a poll slot", name)
		}
	}
	if len(runs) < 3*len(pages) {
		t.Errorf("only %d poll slots ran", len(runs))
	}
	t.Logf("%d poll slots, each enqueued once by one of two schedulers and run once; %d sends in all; graph calls %v",
		len(runs), len(sends), e.sb.Calls())

	checkNoSecrets(t, e.secrets, map[string]string{"serve stderr": srv.stderr.String(),
		"scheduler 1 stderr": sch1.stderr.String(), "scheduler 2 stderr": sch2.stderr.String()})
}
