package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestResumeHelpNamesEveryKind_audit12: resume -h names every kind of pause
// it lifts, other among them, as README says it lifts a pause of any kind.
func TestResumeHelpNamesEveryKind_audit12(t *testing.T) {
	out, errOut, code := runInProcess(t, nil, "resume", "-h")
	help := strings.Join(strings.Fields(out+errOut), " ")
	for _, kind := range tasks.PauseKinds {
		if code != exitOK || !strings.Contains(help, kind) {
			t.Errorf("resume -h: exit %d, want the pause kind %q named\n%s%s", code, kind, out, errOut)
		}
	}
}

// TestResumeLiftsOtherPause_audit12: a pause of kind other (a reason none of
// the four named ones begins with) is lifted as any other.
func TestResumeLiftsOtherPause_audit12(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 9}, "10/s")
	page := e.sb.Pages()[0].ID
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	if set, err := l.Pause(context.Background(), page, 5*time.Minute, "maintenance: paused by hand"); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	out, errOut, code := run(t, "resume", "-c", e.cfgPath, "--page", page)
	if code != exitOK || !strings.Contains(out, "lifted its other pause") {
		t.Fatalf("resume of an other pause: exit %d, want 0 and its other pause lifted\n%s%s", code, out, errOut)
	}
	if d, _, err := l.Paused(context.Background(), page); err != nil || d != 0 {
		t.Errorf("after resume the Page is paused for %s (%v)", d, err)
	}
}
