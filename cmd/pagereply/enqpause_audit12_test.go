package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueuePausedSaysWhatToDo_audit12: pagereply enqueue on a paused Page
// says what to do, as pagereply poll does: --conversation (not read while
// the Page is paused, exit 1) names the wait or pagereply resume, for a
// throttle and for a broken token (its cause first); --comment is queued
// (exit 0, its stdout line unchanged) and says it waits for the pause.
func TestEnqueuePausedSaysWhatToDo_audit12(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 9}, "10/s")
	page := e.sb.Pages()[0]
	conv, _ := e.sb.AddMessage(page.ID, sandbox.User{ID: "64000001", Name: "Ana"}, "open on Sunday?", time.Now().Add(-10*time.Minute))
	comment := e.sb.Comments(e.sb.Posts(page.ID)[0].ID)[0].ID
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	resume := "pagereply resume -c FILE --page " + page.ID
	for _, c := range []struct{ reason, hint string }{
		{tasks.PauseThrottled + ": (#32) Page request limit reached", "the pause ends by itself"},
		{tasks.PausePageBroken + ": (#190) token expired", "a new access_token"},
	} {
		if set, err := l.Pause(context.Background(), page.ID, 5*time.Minute, c.reason); err != nil || !set {
			t.Fatalf("pause: %v %v", set, err)
		}
		out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--conversation", conv, "--text", "hi")
		if code != exitError || !strings.Contains(errOut, c.hint) || !strings.Contains(errOut, resume) {
			t.Errorf("enqueue --conversation on a Page paused %q: exit %d, want %d naming %q and pagereply resume\n%s%s", c.reason, code, exitError, c.hint, out, errOut)
		}
		if err := l.Resume(context.Background(), page.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Pause(context.Background(), page.ID, 5*time.Minute, tasks.PauseThrottled+": (#32)"); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--comment", comment, "--text", "hi")
	if code != exitOK || out != "queued comment:"+comment+" (pending) for page "+page.ID+"\n" ||
		!strings.Contains(errOut, "is paused") || !strings.Contains(errOut, resume) {
		t.Errorf("enqueue --comment on a paused Page: exit %d, want 0, queued, saying it waits and naming pagereply resume\n%s%s", code, out, errOut)
	}
}

// TestEnqueueHelpExitStatusPaused_audit12: enqueue -h's exit statuses name
// a paused Page's exit 1 for --conversation, as the README's commands table
// does.
func TestEnqueueHelpExitStatusPaused_audit12(t *testing.T) {
	out, errOut, code := runInProcess(t, nil, "enqueue", "-h")
	if code != exitOK || !strings.Contains(out+errOut, "for --conversation the Page is paused") {
		t.Errorf("enqueue -h: exit %d, want the paused Page among exit 1's\n%s%s", code, out, errOut)
	}
}
