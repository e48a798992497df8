package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestNewTokenLiftsBrokenPause: a Page paused because its token broke stays
// paused for a poll with the same token, and is polled at once by a
// pagereply whose config gives it a new token, without waiting for the pause
// to run out.
func TestNewTokenLiftsBrokenPause(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 5}, "10/s")
	page := e.sb.Pages()[0]
	const broken = "page_broken: (#190) Error validating access token: the session has been invalidated"
	pause := func(token string) {
		t.Helper()
		l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{PageTokens: map[string]string{page.ID: token}, AppSecret: e2eAppSecret})
		if err := l.Resume(ctx, page.ID); err != nil {
			t.Fatal(err)
		}
		if set, err := l.Pause(ctx, page.ID, 5*time.Minute, broken); err != nil || !set {
			t.Fatalf("pause: %v %v", set, err)
		}
	}

	// Paused with the token the config still has: the poll waits.
	pause(page.Token)
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if !strings.Contains(errOut, "paused: "+broken) || strings.Contains(errOut, "pause lifted") {
		t.Fatalf("poll with the token that broke: exit %d\n%s\n%s", code, out, errOut)
	}

	// Paused with a token the config no longer has: a dry run reads with
	// it and says a start lifts the pause, writing nothing (the config it
	// tries may never run) ...
	pause("EAABtheoldtokenthatbroke")
	keys := func() []string { return allKeys(t, e.db.Client) }
	before := keys()
	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitOK || strings.Contains(errOut, "paused: ") || !strings.Contains(errOut, "a start with this config lifts the pause") ||
		!strings.Contains(out, "TARGET") || !strings.Contains(out, "Thanks") {
		t.Fatalf("dry run with a new token: exit %d\n%s\n%s", code, out, errOut)
	}
	if after := keys(); !slices.Equal(before, after) {
		t.Fatalf("the dry run wrote to Redis: keys %v, then %v", before, after)
	}
	if d, _, err := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{}).Paused(ctx, page.ID); err != nil || d == 0 {
		t.Fatalf("a dry run lifted the pause (%v)", err)
	}
	// ... and a poll lifts it and polls now.
	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitOK || strings.Contains(errOut, "paused: ") || !strings.Contains(errOut, "page_broken pause lifted") ||
		!strings.Contains(out, "items seen") {
		t.Fatalf("poll with a new token: exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, page.Token) || strings.Contains(errOut, "EAABtheoldtoken") {
		t.Fatalf("a token reached the log:\n%s", errOut)
	}
	if d, _, err := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{}).Paused(ctx, page.ID); err != nil || d != 0 {
		t.Fatalf("still paused for %s (%v)", d, err)
	}
}

// TestPollOfBrokenPage: a poll whose token Graph refuses says so once, exits
// 1 and prints no summary of counts it never read; the next poll says the
// Page is paused, and why, and exits 1 too: it read nothing.
func TestPollOfBrokenPage(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 6}, "10/s")
	page := e.sb.Pages()[0]
	e.sb.BreakToken(page.ID, true)

	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitError || out != "" || !strings.Contains(errOut, "pagereply poll: poll page "+page.ID+": ") ||
		!strings.Contains(errOut, "page "+page.ID+" is paused now") || strings.Contains(errOut, "paused: page_broken") {
		t.Fatalf("poll with a broken token: exit %d\nstdout %q\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitError || out != "" || !strings.Contains(errOut, "pagereply poll: page "+page.ID+" paused: page_broken: ") ||
		!strings.Contains(errOut, "pagereply resume -c FILE --page "+page.ID) {
		t.Fatalf("poll of the paused Page: exit %d\nstdout %q\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, page.Token) {
		t.Fatal("the token reached the output")
	}
}

// TestDryRunSaysWhatIsQueued: a dry run lists every comment that has no
// reply sent, and says which of them have a reply task already, which a
// poll would not queue again.
func TestDryRunSaysWhatIsQueued(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 8}, "10/s")
	page := e.sb.Pages()[0]
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitOK || strings.Contains(out, "have a reply task already") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	var comment string
	for _, line := range strings.Split(out, "\n") {
		if id, ok := strings.CutPrefix(line, "comment:"); ok {
			comment = strings.Fields(id)[0]
			break
		}
	}
	if comment == "" {
		t.Fatalf("no comment would get a reply:\n%s", out)
	}
	if out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--comment", comment, "--text", "Hello"); code != exitOK {
		t.Fatalf("enqueue: exit %d\n%s\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitOK || !strings.Contains(out, "of these, 1 have a reply task already (pending 1)") {
		t.Fatalf("dry run after an enqueue: exit %d\n%s\n%s", code, out, errOut)
	}
}
