package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestDryRunLeavesAppUsageAlone: `poll --dry-run` writes nothing to Redis but
// the pause of the Page Graph throttles. Graph's answers to it carrying
// X-App-Usage at 96% (the app near its limit: perhaps another app's, whose
// token is being tried) pause no Page: before, the Graph client's observer
// paused every Page of the config for it, and recorded the app's pause
// doubling, stopping the replies of the service the dry run only looked at.
func TestDryRunLeavesAppUsageAlone(t *testing.T) {
	ctx := context.Background()
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 2, Comments: 3, Seed: 5}, "10/s")
	up, err := url.Parse(e.graph)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(up)
	proxy.ModifyResponse = func(r *http.Response) error {
		r.Header.Set("X-App-Usage", `{"call_count":96,"total_cputime":10,"total_time":10}`)
		return nil
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	b, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, []byte(strings.ReplaceAll(string(b), e.graph, ps.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	keys := func() []string { return allKeys(t, e.db.Client) }
	before := keys()
	pages := e.sb.Pages()
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", pages[0].ID, "--dry-run")
	if code != exitOK || !strings.Contains(out, "would get a reply") {
		t.Fatalf("dry run: exit %d, want 0 and its table\n%s\n%s", code, out, errOut)
	}
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	for _, p := range pages {
		if d, reason, err := l.Paused(ctx, p.ID); err != nil {
			t.Fatal(err)
		} else if d > 0 {
			t.Errorf("a dry run of page %s paused page %s for %s: %s", pages[0].ID, p.ID, d, reason)
		}
	}
	if after := keys(); !slices.Equal(before, after) {
		t.Errorf("the dry run wrote to Redis: keys %v, then %v", before, after)
	}
	if !strings.Contains(errOut, "a dry run pauses no Page for it") {
		t.Errorf("the dry run did not say the app is near its limit:\n%s", errOut)
	}
}
