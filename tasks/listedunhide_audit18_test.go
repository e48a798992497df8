package tasks

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestUnhideListed_audit18: a poll's listing read that lists a comment
// shown drops the webhook's hide mark as the missed unhide would, at the
// read's time, only when the comment's last hide and the mark are at least
// ListedUnhideMargin before the read: a hide created before the read and
// delivered after it changes nothing, one created after it marks the
// comment again; a recent hide (by its created_time, or by when its mark
// was written), a mark of another kind, and a later unhide or hide on
// record keep things as they are. A dry run writes nothing and answers as
// the real one. A mark that took a claim's place leaves a doubt, as the
// unhide's does.
func TestUnhideListed_audit18(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	const page = "100"
	rdb := l.Client()
	now := time.Now()
	ms := func(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
	tg := func(id string) Target { return Target{Kind: KindComment, ID: id} }
	set := func(id, entry, shown string) {
		t.Helper()
		if entry != "" {
			if err := rdb.Set(ctx, l.entryKey(page, tg(id)), entry, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if shown != "" {
			if err := rdb.Set(ctx, l.shownKey(page, tg(id)), shown, time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
		}
	}
	raw := func(id string) (string, string) {
		e, _ := rdb.Get(ctx, l.entryKey(page, tg(id))).Result()
		s, _ := rdb.Get(ctx, l.shownKey(page, tg(id))).Result()
		return e, s
	}
	listed := func(id string, at time.Time, want bool) {
		t.Helper()
		e0, s0 := raw(id)
		if ok, err := l.UnhideListed(ctx, page, id, at, true); err != nil || ok != want {
			t.Fatalf("dry listed unhide of %s: %v %v, want %v", id, ok, err, want)
		}
		if e, s := raw(id); e != e0 || s != s0 {
			t.Fatalf("dry listed unhide of %s wrote: %q %q, was %q %q", id, e, s, e0, s0)
		}
		if ok, err := l.UnhideListed(ctx, page, id, at, false); err != nil || ok != want {
			t.Fatalf("listed unhide of %s: %v %v, want %v", id, ok, err, want)
		}
		if e, s := raw(id); !want && (e != e0 || s != s0) {
			t.Fatalf("listed unhide of %s that kept the mark wrote: %q %q, was %q %q", id, e, s, e0, s0)
		}
	}
	state := func(id string) Entry {
		t.Helper()
		e, err := l.Get(ctx, page, tg(id))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	old := now.Add(-ListedUnhideMargin - time.Minute)
	mark := "f|" + ms(old) + "|" + HiddenReason

	// Hidden long ago, listed shown: the mark goes, the read is the unhide.
	set("1_1", mark, "h|"+ms(old))
	listed("1_1", now, true)
	if e, s := raw("1_1"); e != "" || s != "u|"+ms(now) {
		t.Fatalf("after the listed unhide: entry %q, shown %q; want none, u|%s", e, s, ms(now))
	}
	// A hide created before the read, delivered late: nothing.
	if ok, err := l.MarkHidden(ctx, page, "1_1", now.Add(-time.Second)); err != nil || ok || state("1_1").Status != StatusNone {
		t.Fatalf("hide older than the read: %v %v, %+v; want nothing marked", ok, err, state("1_1"))
	}
	// One created after it: marked again.
	if ok, err := l.MarkHidden(ctx, page, "1_1", now.Add(time.Second)); err != nil || !ok || state("1_1").Reason != HiddenReason {
		t.Fatalf("hide newer than the read: %v %v, %+v; want marked", ok, err, state("1_1"))
	}

	// A hide without a time on record ("h|0"): the mark's time decides.
	set("1_2", mark, "h|0")
	listed("1_2", now, true)

	// The last hide recent (by its created_time), the mark old: kept.
	set("1_3", mark, "h|"+ms(now.Add(-time.Minute)))
	listed("1_3", now, false)
	// The mark recent (written now), its hide's created_time old: kept.
	if ok, err := l.MarkHidden(ctx, page, "1_4", old); err != nil || !ok {
		t.Fatal(ok, err)
	}
	listed("1_4", now, false)
	// No shown key at all, the mark old: dropped.
	set("1_5", mark, "")
	listed("1_5", now, true)
	// A later change on record than the read: kept (an older unhide).
	set("1_6", mark, "u|"+ms(now.Add(time.Minute)))
	listed("1_6", now, false)
	// Not a hide mark: a remove, a sent reply, nothing.
	set("1_7", "f|"+ms(old)+"|"+RemovedReason, "h|"+ms(old))
	listed("1_7", now, false)
	set("1_8", "s|"+ms(old)+"|m_1", "")
	listed("1_8", now, false)
	listed("1_9", now, false)
	// No read time: nothing.
	set("1_10", mark, "h|"+ms(old))
	if ok, err := l.UnhideListed(ctx, page, "1_10", time.Time{}, false); err != nil || ok {
		t.Fatalf("listed unhide without a time: %v %v", ok, err)
	}
	// A mark that took a claim whose lease runs: a doubt, settled with
	// Graph before any send.
	lease := ms(now.Add(time.Hour))
	set("1_11", "f|"+ms(old)+"|"+lease+"|"+HiddenReason, "h|"+ms(old))
	listed("1_11", now, true)
	if e := state("1_11"); e.Status != StatusUnknown {
		t.Fatalf("mark with a lease after the listed unhide: %+v; want a doubt", e)
	}
}

// TestEnqueueManyListed_audit18: EnqueueManyListed drops the hide mark of a
// comment listed shown on a Page with skip_hidden (an old enough hide) and
// queues its reply; a comment not listed so, or a recent hide, keeps its
// mark and counts as failed.
func TestEnqueueManyListed_audit18(t *testing.T) {
	ctx := context.Background()
	e, _ := inspectingEnqueuer(t)
	l := e.Ledger
	on := &config.Page{ID: "100", SkipHidden: true, ReplyTo: []string{config.ReplyComments}}
	reply := func(id string) Reply {
		return Reply{PageID: "100", Target: Target{Kind: KindComment, ID: id}, Text: "hi", Source: SourcePoll}
	}
	old := time.Now().Add(-ListedUnhideMargin - time.Minute).UnixMilli()
	for _, id := range []string{"1_1", "1_2"} {
		if err := l.Client().Set(ctx, l.entryKey("100", Target{Kind: KindComment, ID: id}), "f|"+strconv.FormatInt(old, 10)+"|"+HiddenReason, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := l.MarkHidden(ctx, "100", "1_3", time.Time{}); err != nil || !ok {
		t.Fatal(ok, err)
	}
	now := time.Now()
	outs, err := e.EnqueueManyListed(ctx, on, []Reply{reply("1_1"), reply("1_2"), reply("1_3")}, []time.Time{now, {}, now})
	if err != nil || len(outs) != 3 || outs[0] != Enqueued || outs[1] != AlreadyFailed || outs[2] != AlreadyFailed {
		t.Fatalf("EnqueueManyListed: %v %v; want enqueued, failed, failed", outs, err)
	}
	for id, want := range map[string]Status{"1_1": StatusNone, "1_2": StatusFailed, "1_3": StatusFailed} {
		if en, err := l.Get(ctx, "100", Target{Kind: KindComment, ID: id}); err != nil || en.Status != want {
			t.Errorf("%s after: %+v %v; want %v", id, en, err, want)
		}
	}
	if _, err := e.EnqueueManyListed(ctx, on, []Reply{reply("1_1")}, []time.Time{now, now}); err == nil {
		t.Error("EnqueueManyListed with more times than replies: no error")
	}
}
