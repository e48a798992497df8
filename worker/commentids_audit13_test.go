package worker_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/worker"
)

const noIDLine = "comments listed without their id cannot be answered"

// TestCommentsListedWithoutIDs_audit13: Meta's comments reference says
// Graph lists a Page post's comments without their id for a token of
// someone who cannot perform the MODERATE task on the Page (the sandbox's
// WithholdCommentIDs). Nothing can answer such a comment: each one is
// counted (seen, skipped as malformed), and a WARN says why, naming the
// MODERATE task, once per process (DEBUG after). Before, the first such
// comment of each post was taken into the batch and logged as a malformed
// reply with an empty id and no cause, and the post's others, all with the
// same empty id, were not even counted. With ids listed again (a token that
// can moderate), the next full read answers them.
func TestCommentsListedWithoutIDs_audit13(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 1313})
	page := pollPages(h)[0]
	page.ReplyTo = []string{config.ReplyComments}
	page.Rules, page.DefaultText = nil, "Thanks!"
	var logs lockedBuffer
	p := h.pollParams([]config.Page{page})
	p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	pl := worker.NewPoller(p)
	ctx := context.Background()
	post := h.sb.AddPost(page.ID, sandbox.User{ID: page.ID}, "A post", time.Now().Add(-time.Hour))
	for i := range 3 {
		h.sb.AddComment(post, sandbox.User{ID: strconv.Itoa(7131000 + i), Name: "Ada Visitor"}, "hello", time.Now().Add(-time.Duration(10-i)*time.Minute))
	}
	h.sb.WithholdCommentIDs(page.ID, true)

	rep, err := pl.Poll(ctx, page.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Enqueued() != 0 || rep.Skipped[intake.SkipMalformed] != 3 || rep.Seen != 3 {
		t.Errorf("poll: enqueued %d, seen %d, skipped %v; want 0 enqueued, 3 seen, 3 malformed", rep.Enqueued(), rep.Seen, rep.Skipped)
	}
	if n := logs.count(`"level":"WARN","msg":"` + noIDLine + `"`); n != 1 {
		t.Errorf("%d WARN lines %q, want 1:\n%s", n, noIDLine, logs.b.String())
	}
	if n := logs.count("MODERATE"); n != 1 {
		t.Errorf("the WARN does not name the MODERATE task:\n%s", logs.b.String())
	}
	if n := logs.count("malformed item"); n != 0 {
		t.Errorf("an id-less comment logged as a malformed reply %d times", n)
	}

	// A new comment: said again at DEBUG only.
	h.sb.AddComment(post, sandbox.User{ID: "7131100", Name: "Bo Visitor"}, "hello", time.Now())
	if rep, err = pl.Poll(ctx, page.ID, false); err != nil {
		t.Fatal(err)
	}
	if n := logs.count(`"level":"WARN","msg":"` + noIDLine); n != 1 {
		t.Errorf("said at WARN %d times after the second poll, want once", n)
	}
	if n := logs.count(`"level":"DEBUG","msg":"` + noIDLine); n != 1 {
		t.Errorf("said at DEBUG %d times, want once", n)
	}

	// Ids listed again: the full read answers every comment.
	h.sb.WithholdCommentIDs(page.ID, false)
	postsKey, _ := worker.PollStateKeys(h.ledger, page.ID)
	if err := h.ledger.Client().HSet(ctx, postsKey, "_full", "1").Err(); err != nil {
		t.Fatal(err)
	}
	if rep, err = pl.Poll(ctx, page.ID, false); err != nil {
		t.Fatal(err)
	}
	if rep.FullRead == "" || rep.Enqueued() != 4 {
		t.Errorf("full read %q queued %d, want 4 (skipped %v)", rep.FullRead, rep.Enqueued(), rep.Skipped)
	}
	if logs.count(noIDLine) != 2 {
		t.Errorf("said again with the ids listed")
	}
}
