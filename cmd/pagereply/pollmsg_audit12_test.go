package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestPollPausedSaysWhatToDo_audit12: a poll of a Page paused for a
// throttle (not a broken token, which had its hint already) exits 1 saying
// what to do: wait for the pause, or lift it with pagereply resume.
func TestPollPausedSaysWhatToDo_audit12(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 9}, "10/s")
	page := e.sb.Pages()[0]
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	if set, err := l.Pause(context.Background(), page.ID, 5*time.Minute, tasks.PauseThrottled+": (#32) Page request limit reached"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitError || !strings.Contains(errOut, "pagereply resume -c FILE --page "+page.ID) {
		t.Errorf("poll of a throttled Page: exit %d, want %d naming pagereply resume\n%s%s", code, exitError, out, errOut)
	}
}

// TestPollBusyNamesEitherPoll_audit12: a poll that finds another poll of
// the Page running (here one held as a second pagereply poll holds it) does
// not say it is a worker's: it may be another pagereply poll.
func TestPollBusyNamesEitherPoll_audit12(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 9}, "10/s")
	page := e.sb.Pages()[0]
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	if _, ok, err := l.TryLease(context.Background(), page.ID, "poll", time.Minute); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitOK || !strings.Contains(errOut, "another poll of it is running (a worker's, or another pagereply poll); nothing done") {
		t.Errorf("poll while another runs: exit %d, want 0 naming either poll\n%s%s", code, out, errOut)
	}
}

// TestConfigFromEnvMissing_audit12: a command run without -c whose
// PAGEREPLY_CONFIG names no file (the image's default path with nothing
// mounted there) exits 2 saying the path came from PAGEREPLY_CONFIG and how
// to give the file, not only "no such file or directory".
func TestConfigFromEnvMissing_audit12(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "pagereply.yaml")
	_, errOut, code := runInProcess(t, map[string]string{"PAGEREPLY_CONFIG": missing}, "serve")
	if code != exitUsage || !strings.Contains(errOut, "PAGEREPLY_CONFIG") || !strings.Contains(errOut, "-c FILE") {
		t.Errorf("serve with PAGEREPLY_CONFIG naming no file: exit %d, want %d naming PAGEREPLY_CONFIG and -c\n%s", code, exitUsage, errOut)
	}
	// With -c, the path is the user's own: the error names it alone.
	_, errOut, code = runInProcess(t, nil, "check", "-c", missing)
	if code != exitUsage || strings.Contains(errOut, "PAGEREPLY_CONFIG") {
		t.Errorf("check -c of a missing file: exit %d\n%s", code, errOut)
	}
}

// TestPollHelpExitStatus_audit12: poll -h gives its exit statuses, as
// enqueue -h and resume -h do, and as the README's commands table does: a
// script must tell a paused Page (1) from a poll that ran (0).
func TestPollHelpExitStatus_audit12(t *testing.T) {
	out, errOut, code := runInProcess(t, nil, "poll", "-h")
	if code != exitOK || !strings.Contains(out+errOut, "Exit status: 0 polled") || !strings.Contains(out+errOut, "1 the Page is paused") {
		t.Errorf("poll -h: exit %d, want the exit statuses\n%s%s", code, out, errOut)
	}
}
