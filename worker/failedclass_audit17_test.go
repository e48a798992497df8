package worker_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// rewriteFailed_audit17 replaces r's failed ledger entry with value
// ("f|<ms>|" and the rest), raw, as a version of the ledger writes it.
func rewriteFailed_audit17(t *testing.T, h *harness, r tasks.Reply, rest string) {
	t.Helper()
	ctx := context.Background()
	key := h.ledger.PageKey(r.PageID, "t:"+r.Target.String())
	if err := h.db.Client.Set(ctx, key, "f|"+strconv.FormatInt(time.Now().UnixMilli(), 10)+"|"+rest, 8*24*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
}

// firstFailure_audit17 checks the entry the worker wrote for r's refusal:
// failed, with the class want kept as its field beside the reason, and
// returns the reason.
func firstFailure_audit17(t *testing.T, h *harness, r tasks.Reply, want string) string {
	t.Helper()
	e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
	if err != nil || e.Status != tasks.StatusFailed || e.Class != want || strings.Contains(e.Reason, "class=") {
		t.Fatalf("ledger entry %+v %v, want failed with class %q kept apart from its reason", e, err, want)
	}
	return e.Reason
}

// runAgainRewritten_audit17 is refusedThenRunAgain with the app-not-live
// refusal, which first checks the entry the worker wrote (class want), then
// rewrites it with rest (rewriteFailed_audit17; rest(reason) given the
// reason the worker wrote) before the run again.
func runAgainRewritten_audit17(t *testing.T, seed int64, status int, body, want string, rest func(reason string) string) (*harness, tasks.Reply, *liveGraph, *asynq.Inspector) {
	t.Helper()
	var hh *harness
	var rr *tasks.Reply
	return refusedThenRunAgain(t, seed, status, body, func(h *harness, r *tasks.Reply) { hh, rr = h, r }, func() {
		reason := firstFailure_audit17(t, hh, *rr, want)
		rewriteFailed_audit17(t, hh, *rr, rest(reason))
	})
}

// futureWording_audit17 is an app-not-live refusal's reason in words the
// text match (graph.AppNotLiveReason) does not know: a later wording of the
// client's or Meta's.
const futureWording_audit17 = "reply comment:1: graph: messages: (#10) This app can't message this person yet [code 10, http 403, class permanent]"

// TestAppNotLiveClassRunAgainFutureWording_audit17: the worker keeps the
// failure's class (app_not_live) in the failed entry, and a run again
// decides from it: an app-not-live failure whose reason is worded in a way
// the text match does not know is still dropped and sent once the app is
// live. Read from the text alone, it was archived again as failed for good
// earlier, the reply lost.
func TestAppNotLiveClassRunAgainFutureWording_audit17(t *testing.T) {
	h, r, g, _ := runAgainRewritten_audit17(t, 171, http.StatusForbidden, appNotLiveBody, graph.FailureAppNotLive, func(string) string {
		return "class=" + graph.FailureAppNotLive + "|" + futureWording_audit17
	})
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if n := g.refused.Load(); n != 1 {
		t.Errorf("%d refused sends, want 1", n)
	}
}

// TestOtherClassRunAgainStaysFailed_audit17: the class decides the other
// way too: a failure kept with another class (permanent) is archived again
// when run, unsent, even when its reason quotes the app-not-live refusal's
// words (say, a person refusal whose message cites it).
func TestOtherClassRunAgainStaysFailed_audit17(t *testing.T) {
	h, r, _, insp := runAgainRewritten_audit17(t, 172, http.StatusForbidden, appNotLiveBody, graph.FailureAppNotLive, func(reason string) string {
		return "class=permanent|" + reason
	})
	wantArchivedAgain(t, h, r, insp, "2018028")
	if e, err := h.ledger.Get(context.Background(), r.PageID, r.Target); err != nil || e.Class != "permanent" {
		t.Errorf("ledger entry %+v %v, want its class kept", e, err)
	}
}

// TestAppNotLiveOldEntryRunAgain_audit17: an app-not-live failure written
// by the earlier version ("f|<ms>|<reason>", no class: the ledger keeps
// entries 8 days, so they outlive an upgrade) is still told from its
// reason, dropped and sent when run again.
func TestAppNotLiveOldEntryRunAgain_audit17(t *testing.T) {
	h, r, g, _ := runAgainRewritten_audit17(t, 173, http.StatusForbidden, appNotLiveBody, graph.FailureAppNotLive, func(reason string) string {
		return reason
	})
	h.waitSent(t, []tasks.Reply{r}, 20*time.Second)
	if n := g.refused.Load(); n != 1 {
		t.Errorf("%d refused sends, want 1", n)
	}
}

// TestOtherRefusalOldEntryRunAgainStaysFailed_audit17: another refusal
// about the person written by the earlier version (no class) is archived
// again when run, unsent, as before.
func TestOtherRefusalOldEntryRunAgainStaysFailed_audit17(t *testing.T) {
	h, r, _, insp := runAgainRewritten_audit17(t, 174, http.StatusBadRequest,
		`{"error":{"message":"(#200) Message Not Sent: This person isn't available right now.","type":"OAuthException","code":200,"error_subcode":1545041,"fbtrace_id":"AbC"}}`,
		"permanent", func(reason string) string { return reason })
	wantArchivedAgain(t, h, r, insp, "1545041")
}
