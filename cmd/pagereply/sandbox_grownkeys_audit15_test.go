package main

import (
	"net/http/httptest"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxStatsGrownKeysAudit15: with --grow-reels, --grow-removals or
// --grow-hides the stats' grown has reels, reel_comments, removed, hidden
// and unhidden from the start, at 0 before any was added (README: "with
// --grow-reels, --grow-removals or --grow-hides also ..."), so a soak script
// reading grown.removed does not fail on a key that is not there yet;
// without them, grown keeps the four keys it always had.
func TestSandboxStatsGrownKeysAudit15(t *testing.T) {
	more := []string{"reels", "reel_comments", "removed", "hidden", "unhidden"}
	for _, tc := range []struct {
		name string
		opts sandbox.Options
		want bool
	}{
		{"none", sandbox.Options{}, false},
		{"reels", sandbox.Options{GrowReels: true}, true},
		{"removals", sandbox.Options{GrowRemovals: true}, true},
		{"hides", sandbox.Options{GrowHides: true}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Pages, o.Posts, o.Comments, o.Conversations, o.Seed = 1, 1, 1, 1, 1
			srv := httptest.NewServer(sandboxStats(sandbox.New(o), nil))
			t.Cleanup(srv.Close)
			raw, _ := getStats(t, srv.URL)
			grown, ok := raw["grown"].(map[string]any)
			if !ok {
				t.Fatalf("stats without grown: %v", raw)
			}
			for _, k := range []string{"comments", "replies", "posts", "messages"} {
				if v, ok := grown[k]; !ok || v != float64(0) {
					t.Errorf("grown[%q] = %v (present %v), want 0", k, v, ok)
				}
			}
			for _, k := range more {
				v, ok := grown[k]
				if ok != tc.want || (ok && v != float64(0)) {
					t.Errorf("grown[%q] = %v, present %v; want present %v, at 0", k, v, ok, tc.want)
				}
			}
		})
	}
}
