package worker_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestStaleCheckActsOnlyOnPausesItLifts: the worker's check for stale
// page_broken pauses says nothing and wakes nothing while the Page's pause
// is its own token's (or there is none): it logs a lift, with the pause's
// reason, and runs the put-back replies only for a pause it lifted.
func TestStaleCheckActsOnlyOnPausesItLifts(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 84})
	page := h.pages[0].ID
	const broken = "page_broken: (#190) Error validating access token: the session has been invalidated"
	pauseWith := func(token string) { t.Helper(); pauseWithToken(t, h, page, token, broken) }
	own := tasks.NewLedger(h.db.Client, tasks.LedgerOptions{Batch: true, PageTokens: map[string]string{page: h.pages[0].AccessToken}})
	t.Cleanup(own.Close)
	var buf proctest.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	const every = 100 * time.Millisecond
	pauseWith(h.pages[0].AccessToken)
	r := h.addComments(page, 1, "Hi")[0]
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) { p.Ledger, p.StalePausesCheckedEvery, p.Logger = own, every, log })
	h.enqueueAll(t, []tasks.Reply{r})
	h.waitPutBack(t, r, 10*time.Second, nil)
	time.Sleep(10 * every) // many checks of a pause of the worker's own token
	lines := func(msg string) []map[string]any {
		var out []map[string]any
		for _, s := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(s), &l) == nil && l["msg"] == msg {
				out = append(out, l)
			}
		}
		return out
	}
	const liftedMsg = "page_broken pause lifted: it was set with another token than the one this worker's config gives the Page"
	const wokenMsg = "replies put back for the lifted pause run now"
	if l, w := lines(liftedMsg), lines(wokenMsg); len(l)+len(w) != 0 {
		t.Fatalf("while the pause was the worker's own token's, the checks logged %d lifts and %d wake-ups:\n%s", len(l), len(w), buf.String())
	}

	// A pause of a token the worker does not have: one lift, with its reason.
	pauseWith("EAABtheoldtokenthatbroke")
	h.waitSent(t, []tasks.Reply{r}, 10*time.Second)
	time.Sleep(5 * every) // later checks find no pause
	l := lines(liftedMsg)
	if len(l) != 1 || l[0]["reason"] != broken || l[0]["page_id"] != page {
		t.Fatalf("lift lines %v, want one with page_id %s and reason %q\n%s", l, page, broken, buf.String())
	}
}
