package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestDemoOnceEmbedded: `pagereply demo --once` with no Redis of its own (the
// embedded one) answers every eligible item exactly once and says so: its
// last progress line has every eligible item sent and nothing queued, this
// run's sends (the sandbox's count, which a second send of a reply would
// raise) are the eligible count, and each Page's summary row has SENT equal
// to ELIGIBLE, none refused, its counts adding up to SEEN.
func TestDemoOnceEmbedded(t *testing.T) {
	out, errOut, code := run(t, "demo", "--once", "--addr", "127.0.0.1:0", "--timeout", "50s",
		"--pages", "2", "--posts", "3", "--comments", "5", "--conversations", "2", "--seed", "5")
	if code != exitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	m := regexp.MustCompile(`(?m)^(\d+) comments, posts and messages are eligible for a reply`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("no eligible count:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1])
	if !regexp.MustCompile(`(?m)^\s+\d+s  sent ` + m[1] + `/` + m[1] + `, refused 0, queued 0\n\n`).MatchString(out) {
		t.Errorf("no final progress line with every item sent and nothing queued:\n%s", out)
	}
	if !strings.Contains(out, "\n"+m[1]+" replies sent by this run; the first 5:\n") || strings.Contains(out, "earlier run") {
		t.Errorf("this run's sends are not the %d eligible items (each sent once):\n%s", total, out)
	}
	rows := regexp.MustCompile(`(?m)^(\d{10,})\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)$`).FindAllStringSubmatch(out, -1)
	if len(rows) != 2 {
		t.Fatalf("summary has %d Page rows, want 2:\n%s", len(rows), out)
	}
	eligible := 0
	for _, r := range rows {
		n := make([]int, 9)
		for i := 2; i < len(r); i++ {
			n[i-1], _ = strconv.Atoi(r[i])
		}
		seen, elig, sent, refused := n[1], n[2], n[3], n[4]
		if sent != elig || refused != 0 || elig+n[5]+n[6]+n[7]+n[8] != seen {
			t.Errorf("page %s: seen %d, eligible %d, sent %d, refused %d, skipped %v: want every eligible item sent",
				r[1], seen, elig, sent, refused, n[5:])
		}
		eligible += elig
	}
	if eligible != total {
		t.Errorf("summary's eligible items add up to %d, the header says %d", eligible, total)
	}
}

// TestDemoOnceNotDoneWhilePaused: a demo whose Page cannot be answered (paused
// for an hour, as Graph's policy block pauses it) has handled nothing when
// --timeout runs out: --once exits 1 saying how many items were handled,
// never 0, though nothing is queued (a check of the queue alone would read
// "done"; one eligible item, so that one missing is all missing). The
// database is an earlier demo run's (its marker names the seeded Page), so
// the demo accepts it.
func TestDemoOnceNotDoneWhilePaused(t *testing.T) {
	t.Parallel() // mostly waits on the processes it runs; own database
	ctx := context.Background()
	db := redistest.New(t)
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 2, Conversations: 3, VisitorPosts: true, Seed: 3})
	page := sb.Pages()[0].ID
	if err := markDemoDatabase(ctx, db.Client, []string{page}); err != nil {
		t.Fatal(err)
	}
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	defer l.Close()
	if set, err := l.Pause(ctx, page, time.Hour, "policy_block: (#368) Temporarily blocked for policies violations"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	out, errOut, code := run(t, "demo", "--once", "--addr", "127.0.0.1:0", "--redis", db.URL(), "--timeout", "4s",
		"--pages", "1", "--posts", "1", "--comments", "2", "--conversations", "3", "--seed", "3")
	if !strings.Contains(out, page) {
		t.Fatalf("the demo seeded other Pages than %s:\n%s", page, out)
	}
	if code != exitError || !strings.Contains(errOut, "--once: only 0 of 1 eligible items handled after 4s") {
		t.Errorf("demo --once with its Page paused: exit %d, want 1 saying none was handled\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestDemoOnceCountsItsOwnItems: a second `demo --once` on a database an
// earlier, larger run used (same seed, so the same Page) with other flags
// (fewer comments, some conversations) has items of its own to answer: it is
// done once those are handled, not once the Page's ledger counts as many
// replies as it has eligible items. Its Page is paused for its first seconds (5 s),
// so the replies of the earlier run outnumber this run's items before this
// run's first poll. Before, the demo summed the Page's sent replies: at its
// first tick it said every item was sent and exited 0, "This run sent no
// reply", the conversations unanswered.
func TestDemoOnceCountsItsOwnItems(t *testing.T) {
	t.Parallel() // mostly waits on the processes it runs; own database
	ctx := context.Background()
	db := redistest.New(t)
	first := []string{"demo", "--once", "--addr", "127.0.0.1:0", "--redis", db.URL(), "--timeout", "40s", "--seed", "3", "--pages", "1"}
	out, errOut, code := run(t, append(first, "--posts", "3", "--comments", "6", "--conversations", "0")...)
	if code != exitOK {
		t.Fatalf("first run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	page := sandbox.New(sandbox.Options{Pages: 1, Seed: 3}).Pages()[0].ID
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	defer l.Close()
	if set, err := l.Pause(ctx, page, 5*time.Second, "policy_block: (#368) Temporarily blocked for policies violations"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	out, errOut, code = run(t, append(first, "--posts", "1", "--comments", "2", "--conversations", "5")...)
	if code != exitOK {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	m := regexp.MustCompile(`(?m)^(\d+) comments, posts and messages are eligible`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("second run: no eligible count:\n%s", out)
	}
	if !strings.Contains(out, "sent "+m[1]+"/"+m[1]+", refused 0, queued 0") || !strings.Contains(out, "replies sent by this run") {
		t.Errorf("second run: done before its conversations were answered:\n%s", out)
	}
	row := regexp.MustCompile(`(?m)^` + page + `\s+\d+\s+(\d+)\s+(\d+)\s+0\s`).FindStringSubmatch(out)
	if row == nil || row[1] != m[1] || row[2] != m[1] {
		t.Errorf("second run: the summary's row of Page %s has not every eligible item sent (%q):\n%s", page, row, out)
	}
}

// TestDemoOnceCountsRefused: an eligible item the ledger has failed for good
// (Graph refused its reply) is handled, as refused and not as sent: the demo
// --once finishes with it in the refused count and its Page's REFUSED column,
// the others sent, and it is not sent. (The database is an earlier demo
// run's, whose marker names the seeded Page.)
func TestDemoOnceCountsRefused(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	opts := sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Conversations: 1, VisitorPosts: true, Seed: 3}
	sb := sandbox.New(opts)
	page := sb.Pages()[0]
	cfg, err := config.Parse([]byte(fmt.Sprintf(demoConfig, fmt.Sprintf(demoPage, page.ID, 0))), func(k string) (string, bool) {
		return map[string]string{"DEMO_REDIS_URL": db.URL(), "DEMO_GRAPH_URL": "http://127.0.0.1:1", "DEMO_API_ADDR": "127.0.0.1:0",
			"DEMO_API_TOKEN": "t", "DEMO_LOG_LEVEL": "warn", "DEMO_PAGE_TOKEN_0": page.Token}[k], true
	})
	if err != nil {
		t.Fatal(err)
	}
	c := demoExpect(cfg, sb, time.Now())[page.ID]
	if c.eligible < 2 {
		t.Fatalf("%d eligible items, want 2 or more", c.eligible)
	}
	if err := markDemoDatabase(ctx, db.Client, []string{page.ID}); err != nil {
		t.Fatal(err)
	}
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	defer l.Close()
	refused := c.targets[0]
	if err := l.MarkFailed(ctx, page.ID, refused, "code 10903: cannot reply"); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "demo", "--once", "--addr", "127.0.0.1:0", "--redis", db.URL(), "--timeout", "40s",
		"--pages", "1", "--posts", "2", "--comments", "3", "--conversations", "1", "--seed", "3")
	if code != exitOK {
		t.Fatalf("demo exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	n, sent := strconv.Itoa(c.eligible), strconv.Itoa(c.eligible-1)
	if !strings.Contains(out, "sent "+sent+"/"+n+", refused 1, queued 0\n") ||
		!strings.Contains(out, "\n"+sent+" replies sent by this run") || strings.Contains(out, "earlier run") ||
		!regexp.MustCompile(`(?m)^`+page.ID+`\s+\d+\s+`+n+`\s+`+sent+`\s+1\s`).MatchString(out) {
		t.Errorf("demo with item %s refused: want %s of %s sent, 1 refused\n%s", refused, sent, n, out)
	}
	if en, err := l.Get(ctx, page.ID, refused); err != nil || en.Status != tasks.StatusFailed {
		t.Errorf("refused item %s: ledger %v %v, want still failed", refused, en.Status, err)
	}
}
