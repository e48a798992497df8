package worker_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// ageHideMark_audit18 moves the webhook's hide mark of tg, and the
// comment's last hide kept beside it, by ago into the past: the state a
// hide delivered that long ago left (the mark's time is Redis's clock when
// it was written, which a test cannot set).
func ageHideMark_audit18(t *testing.T, h *harness, page string, tg tasks.Target, ago time.Duration) {
	t.Helper()
	ctx, rdb := context.Background(), h.db.Client
	key := h.ledger.PageKey(page, "t:"+tg.String())
	v, err := rdb.Get(ctx, key).Result()
	parts := strings.SplitN(v, "|", 3)
	if err != nil || len(parts) != 3 || parts[0] != "f" || !strings.HasSuffix(v, "|"+tasks.HiddenReason) {
		t.Fatalf("%s's entry %q, %v: want the hide mark", tg, v, err)
	}
	ms, _ := strconv.ParseInt(parts[1], 10, 64)
	old := strconv.FormatInt(ms-ago.Milliseconds(), 10)
	if err := rdb.Set(ctx, key, "f|"+old+"|"+parts[2], redis.KeepTTL).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, h.ledger.PageKey(page, "shown:"+tg.String()), "h|"+old, 8*24*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
}

// hiddenMarkedFixture_audit18 is the hidden fixture after its first poll
// queued every comment's reply and the webhook's hide of the hidden one
// (hidden in the sandbox too) came before its reply ran: the others are
// sent, its task completed unsent on the mark. pl polls the Page; full
// makes its next poll a full read.
func hiddenMarkedFixture_audit18(t *testing.T, seed int64) (f *hiddenFixture, pl *worker.Poller, full func()) {
	t.Helper()
	f = newHiddenFixture(t, seed, true)
	h, ctx := f.h, context.Background()
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	h.enq.Inspector = insp
	pl = f.poller(nil)
	if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != len(f.replies) {
		t.Fatalf("poll: %d queued, %v; want %d", rep.Enqueued(), err, len(f.replies))
	}
	h.sb.SetHidden(f.hidden.Target.ID, true)
	hideWebhook(t, f.h, f.page)("hide", f.hidden.Target.ID)
	h.startWorkerOn(t, h.opt, 4, func(p *worker.Params) { p.Pages = []config.Page{f.page} })
	h.waitSent(t, f.replies[1:], 20*time.Second)
	h.waitTask(t, f.hidden, 20*time.Second, nil, asynq.TaskStateCompleted)
	if n := h.sb.SendCount(f.hidden.Target.ID); n != 0 {
		t.Fatalf("hidden comment got %d sends", n)
	}
	full = func() {
		t.Helper()
		posts, _ := worker.PollStateKeys(h.ledger, f.page.ID)
		if err := h.db.Client.HDel(ctx, posts, "_full").Err(); err != nil {
			t.Fatal(err)
		}
	}
	return f, pl, full
}

func (f *hiddenFixture) entry_audit18(t *testing.T) tasks.Entry {
	t.Helper()
	e, err := f.h.ledger.Get(context.Background(), f.page.ID, f.hidden.Target)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func dryListed_audit18(t *testing.T, f *hiddenFixture, pl *worker.Poller) bool {
	t.Helper()
	dry, err := pl.Poll(context.Background(), f.page.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range dry.Replies {
		if r.Target == f.hidden.Target {
			return true
		}
	}
	return false
}

// TestMissedUnhideAnsweredByFullRead_audit18: a comment the Page hid (the
// webhook's hide marked it, its queued reply completed unsent) and showed
// again 20 minutes later, the unhide never delivered (the webhook away past
// Meta's retries), gets its one reply from the next full read, which lists
// it shown: the read drops the mark as the unhide would have, and poll
// --dry-run lists it as a reply beforehand. Seen failing before: the full
// read skipped it as already replied (the mark is "failed for good"), and
// nothing else would ever answer it.
func TestMissedUnhideAnsweredByFullRead_audit18(t *testing.T) {
	f, pl, full := hiddenMarkedFixture_audit18(t, 1811)
	h, ctx := f.h, context.Background()
	ageHideMark_audit18(t, h, f.page.ID, f.hidden.Target, 20*time.Minute)
	h.sb.SetHidden(f.hidden.Target.ID, false) // the unhide: never delivered
	full()
	if !dryListed_audit18(t, f, pl) {
		t.Error("poll --dry-run does not list the comment shown again as a reply")
	}
	if e := f.entry_audit18(t); e.Reason != tasks.HiddenReason {
		t.Fatalf("the dry run changed the mark: %+v", e)
	}
	full()
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil || rep.FullRead == "" {
		t.Fatalf("poll: %v, full read %q", err, rep.FullRead)
	}
	if rep.Enqueued() != 1 {
		t.Fatalf("full read queued %d (outcomes %v, skipped %v), want the shown comment's reply", rep.Enqueued(), rep.Outcomes, rep.Skipped)
	}
	h.waitSent(t, f.replies[:1], 20*time.Second)
	h.checkExactlyOnce(t, f.replies)
	// Found again once sent, by a full read and its dry run: nothing more.
	full()
	if dryListed_audit18(t, f, pl) {
		t.Error("poll --dry-run lists the comment answered")
	}
	full()
	if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != 0 {
		t.Errorf("full read after the send: %d queued, %v; want 0", rep.Enqueued(), err)
	}
	h.waitQuiet(t, 20*time.Second)
	h.checkExactlyOnce(t, f.replies)
}

// TestStillHiddenKeepsMark_audit18: a comment the Page still hides keeps
// its mark through a full read (listed hidden), however old its hide.
func TestStillHiddenKeepsMark_audit18(t *testing.T) {
	f, pl, full := hiddenMarkedFixture_audit18(t, 1812)
	h, ctx := f.h, context.Background()
	ageHideMark_audit18(t, h, f.page.ID, f.hidden.Target, 20*time.Minute)
	full()
	if dryListed_audit18(t, f, pl) {
		t.Error("poll --dry-run lists the hidden comment")
	}
	full()
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil || rep.Enqueued() != 0 || rep.Skipped["hidden"] != 1 {
		t.Fatalf("full read: %d queued, skipped %v, %v; want none queued, 1 hidden", rep.Enqueued(), rep.Skipped, err)
	}
	if e := f.entry_audit18(t); e.Status != tasks.StatusFailed || e.Reason != tasks.HiddenReason {
		t.Errorf("entry after the full read: %+v; want the hide mark", e)
	}
	h.waitQuiet(t, 20*time.Second)
	if n := h.sb.SendCount(f.hidden.Target.ID); n != 0 {
		t.Errorf("hidden comment got %d sends", n)
	}
	h.checkExactlyOnce(t, f.replies[1:])
}

// TestRecentHideNotUndoneByListing_audit18: a hide the webhook delivered
// less than tasks.ListedUnhideMargin ago is not undone by a listing that
// shows the comment (Graph's listing not showing the hide yet): the full
// read and its dry run leave the comment unanswered, its mark kept; once
// the hide is older than the margin, a read that lists it shown answers it.
func TestRecentHideNotUndoneByListing_audit18(t *testing.T) {
	f, pl, full := hiddenMarkedFixture_audit18(t, 1813)
	h, ctx := f.h, context.Background()
	h.sb.SetHidden(f.hidden.Target.ID, false) // the listing behind the hide
	full()
	if dryListed_audit18(t, f, pl) {
		t.Error("poll --dry-run lists the comment hidden a moment ago")
	}
	full()
	rep, err := pl.Poll(ctx, f.page.ID, false)
	if err != nil || rep.Enqueued() != 0 {
		t.Fatalf("full read: %d queued (outcomes %v), %v; want none", rep.Enqueued(), rep.Outcomes, err)
	}
	if e := f.entry_audit18(t); e.Status != tasks.StatusFailed || e.Reason != tasks.HiddenReason {
		t.Fatalf("entry after the full read: %+v; want the hide mark", e)
	}
	// The mark written now, its hide (created_time) old: still recent.
	ageHideMark_audit18(t, h, f.page.ID, f.hidden.Target, 0)
	if err := h.db.Client.Set(ctx, h.ledger.PageKey(f.page.ID, "shown:"+f.hidden.Target.String()), "h|"+strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	full()
	if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != 0 {
		t.Fatalf("full read with the mark written now: %d queued, %v; want none", rep.Enqueued(), err)
	}
	// Past the margin.
	ageHideMark_audit18(t, h, f.page.ID, f.hidden.Target, tasks.ListedUnhideMargin+time.Minute)
	full()
	if rep, err := pl.Poll(ctx, f.page.ID, false); err != nil || rep.Enqueued() != 1 {
		t.Fatalf("full read past the margin: %d queued, %v; want 1", rep.Enqueued(), err)
	}
	h.waitSent(t, f.replies[:1], 20*time.Second)
	h.checkExactlyOnce(t, f.replies)
}
