package main

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/graphtest"
	"github.com/pagereply/pagereply/tasks"
)

// TestPollRetryAfterSaysPaused_audit22: a poll whose feed read a proxy in
// front of Graph answers 503 with Retry-After pauses the Page (graph_down)
// for that time, and says so as a throttled poll does: the Page is paused
// now, its replies wait, and what lifts it. Before, the Page was paused but
// the command said only Graph's error: the user could not tell that every
// reply of the Page now waited.
func TestPollRetryAfterSaysPaused_audit22(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 22}, "10/s")
	page := e.sb.Pages()[0]
	proxy, _ := graphtest.NewAskingProxy(t, e.sb, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/feed") })
	b, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, []byte(strings.ReplaceAll(string(b), e.graph, proxy.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitError || proxy.Asked() != 1 || !strings.Contains(errOut, "pagereply poll: page "+page.ID+" is paused now; its replies wait until the pause ends: ") ||
		!strings.Contains(errOut, "pagereply resume -c FILE --page "+page.ID) ||
		!strings.Contains(errOut, "its replies wait until the pause ends: Graph asked to wait: the pause ends by itself at the time Graph gave") {
		t.Fatalf("poll answered 503 with Retry-After: exit %d (503s %d)\nstdout %q\n%s", code, proxy.Asked(), out, errOut)
	}
	d, reason, err := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{}).Paused(context.Background(), page.ID)
	if err != nil || d <= 0 || d > graphtest.AskedWait || tasks.PauseKind(reason) != tasks.PauseGraphDown {
		t.Fatalf("page paused for %s (%q, %v), want up to %s, graph_down", d, reason, err, graphtest.AskedWait)
	}
	for _, s := range e.secrets {
		if strings.Contains(out+errOut, s) {
			t.Fatal("a secret reached the output")
		}
	}
}
