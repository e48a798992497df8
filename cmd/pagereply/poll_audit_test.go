package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestPollPausedDuringItExits1: a Page paused while the poll reads it (here
// by another process, as a worker's throttled send would, while the poll
// reads its first post's comments) stops the poll, which says so and exits
// 1, as the README says ("exit 1 when the Page is paused, before the poll or
// during it"): the poll asked for did not read the Page, and a script must
// not take it for one that did.
func TestPollPausedDuringItExits1(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 3, Comments: 3, Seed: 9}, "10/s")
	page := e.sb.Pages()[0]
	const reason = tasks.PauseThrottled + ": (#32) Page request limit reached"
	var once sync.Once
	paused := make(chan struct{})
	gs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/comments") {
			once.Do(func() {
				defer close(paused)
				l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
				if set, err := l.Pause(r.Context(), page.ID, 5*time.Minute, reason); err != nil || !set {
					t.Errorf("pause: %v %v", set, err)
				}
			})
		}
		e.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(gs.Close)
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, []byte(strings.ReplaceAll(string(cfg), e.graph, gs.URL)), 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	select {
	case <-paused:
	default:
		t.Fatalf("the poll read no comments: exit %d\n%s\n%s", code, out, errOut)
	}
	if code != exitError || !strings.Contains(errOut, "pagereply poll: page "+page.ID+" paused: "+reason) {
		t.Fatalf("poll of a Page paused during it: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitError, out, errOut)
	}
	if d, _, err := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{}).Paused(context.Background(), page.ID); err != nil || d == 0 {
		t.Fatalf("the Page is not paused (%v)", err)
	}
}
