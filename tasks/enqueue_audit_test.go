package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/internal/redistest"
)

// cmdHook runs each command of a client through a function, which may act
// before or after next (the command itself) or fail it.
type cmdHook func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error

func (h cmdHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h cmdHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { return h(ctx, cmd, next) }
}
func (h cmdHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// isCmd reports whether cmd is a name command with an argument holding part.
func isCmd(cmd redis.Cmder, name, part string) bool {
	if cmd.Name() != name {
		return false
	}
	for _, a := range cmd.Args()[1:] {
		if s, ok := a.(string); ok && strings.Contains(s, part) {
			return true
		}
	}
	return false
}

// errHooked is the error a hook fails a command with.
var errHooked = errors.New("connection reset by peer (hook)")

// failCmd fails (with errHooked) every command named one of names with an
// argument holding part, and runs the others.
func failCmd(part string, names ...string) cmdHook {
	return func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		for _, name := range names {
			if isCmd(cmd, name, part) {
				cmd.SetErr(errHooked)
				return errHooked
			}
		}
		return next(ctx, cmd)
	}
}

// hookedEnqueuer is inspectingEnqueuer whose ledger's commands go through
// h; it returns the test database too, whose client bypasses h.
func hookedEnqueuer(t *testing.T, h cmdHook) (*Enqueuer, *asynq.Inspector, *redistest.DB) {
	t.Helper()
	db := redistest.New(t)
	e, insp := inspectingEnqueuerOn(t, db)
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(h)
	e.Ledger = NewLedger(rdb, LedgerOptions{})
	return e, insp, db
}

// archived queues r and archives its task, as the worker does when its
// retries run out.
func archived(t *testing.T, e *Enqueuer, insp *asynq.Inspector, r Reply) {
	t.Helper()
	if o, _, err := e.Enqueue(context.Background(), r); err != nil || o != Enqueued {
		t.Fatalf("enqueue %s: %v %v", r.Target, o, err)
	}
	if err := insp.ArchiveTask(QueueReplies, r.Target.String()); err != nil {
		t.Fatal(err)
	}
}

// taskText returns the state and text of target's reply task.
func taskText(t *testing.T, insp *asynq.Inspector, tg Target) (asynq.TaskState, string) {
	t.Helper()
	ti, err := insp.GetTaskInfo(QueueReplies, tg.String())
	if err != nil {
		t.Fatalf("task of %s: %v", tg, err)
	}
	r, err := DecodeReply(ti.Payload)
	if err != nil {
		t.Fatalf("payload of %s: %v", tg, err)
	}
	return ti.State, r.Text
}

// TestEnqueueStampsTime: a reply is stamped with the Enqueuer's clock when
// it is queued, and a time its producer set already is kept (when the
// first producer enqueued it, which the send latency and the outage
// lenience are measured from). Kills: Now ignored, a set EnqueuedAt
// overwritten.
func TestEnqueueStampsTime(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	at := time.UnixMilli(1_760_000_000_123)
	e.Now = func() time.Time { return at }
	fresh := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	set := Reply{PageID: "7", Target: Target{KindComment, "7_2"}, Text: "hi", Source: SourcePoll, EnqueuedAt: 1_700_000_000_000}
	for _, tc := range []struct {
		r    Reply
		want int64
	}{{fresh, at.UnixMilli()}, {set, set.EnqueuedAt}} {
		if o, _, err := e.Enqueue(ctx, tc.r); err != nil || o != Enqueued {
			t.Fatalf("enqueue %s: %v %v", tc.r.Target, o, err)
		}
		ti, err := insp.GetTaskInfo(QueueReplies, tc.r.Target.String())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := DecodeReply(ti.Payload); err != nil || got.EnqueuedAt != tc.want {
			t.Errorf("%s: enqueued_at %d (%v), want %d", tc.r.Target, got.EnqueuedAt, err, tc.want)
		}
	}
}

// TestEnqueueRetention: a finished reply task is kept for the Enqueuer's
// Retention when it is set, not the default. Kills: Retention ignored.
func TestEnqueueRetention(t *testing.T) {
	e, _ := inspectingEnqueuer(t)
	e.Retention = 3 * time.Hour
	_, info, err := e.Enqueue(context.Background(), Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourceAPI})
	if err != nil || info == nil || info.Retention != 3*time.Hour {
		t.Fatalf("enqueue with Retention 3h: %+v %v, want a task kept 3h", info, err)
	}
}

// TestEnqueueNoteTextFails: a conversation reply whose text cannot be noted
// (Redis failing that call) is an error and not queued: queued without it,
// a later task of the target with another text would have a doubtful
// attempt's check look for the wrong text, find none and send a second
// message. Kills: NoteText's error swallowed.
func TestEnqueueNoteTextFails(t *testing.T) {
	e, insp, _ := hookedEnqueuer(t, failCmd(":text:", "set"))
	r := Reply{PageID: "7", Target: Target{KindMessage, "m_1"}, PSID: "42", ConversationID: "t_1", Text: "hi", Source: SourcePoll}
	if o, info, err := e.Enqueue(context.Background(), r); !errors.Is(err, errHooked) || o != "" || info != nil {
		t.Fatalf("enqueue with its text not noted: %v %v %v, want the error", o, info, err)
	}
	if _, err := insp.GetTaskInfo(QueueReplies, r.Target.String()); err == nil {
		t.Errorf("a conversation reply was queued though its text was not noted")
	}
}

// TestReplaceLockHeld: while another producer holds the lock on replacing a
// target's archived task, an enqueue of it is told queued and leaves the
// task to that producer; once the lock is gone it replaces the task. Kills:
// the lock not taken (both would replace, one deleting the other's task).
func TestReplaceLockHeld(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "first", Source: SourcePoll}
	archived(t, e, insp, r)
	lock := e.Ledger.pageKey(r.PageID, "replace:"+r.Target.String())
	if err := e.Ledger.rdb.Set(ctx, lock, "another producer", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	r.Text = "second"
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != AlreadyQueued {
		t.Fatalf("enqueue while another producer replaces: %v %v, want queued", o, err)
	}
	if st, text := taskText(t, insp, r.Target); st != asynq.TaskStateArchived || text != "first" {
		t.Fatalf("task %s %q, want left archived to the lock's holder", st, text)
	}
	e.Ledger.rdb.Del(ctx, lock)
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue once the lock is gone: %v %v, want enqueued", o, err)
	}
}

// TestReplaceLockReleased: the replacement's lock lives a few seconds at
// most (a producer that dies holding it blocks no one for long), and is
// released when the replacement is done, so the target's next archived task
// is replaced at once, not told queued for the lock's life. Kills: no
// unlock, a long lock.
func TestReplaceLockReleased(t *testing.T) {
	ctx := context.Background()
	var lockTTL time.Duration
	var probe *redis.Client
	e, insp, db := hookedEnqueuer(t, func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		err := next(ctx, cmd)
		if isCmd(cmd, "set", ":replace:") {
			lockTTL = probe.PTTL(ctx, cmd.Args()[1].(string)).Val()
		}
		return err
	})
	probe = db.Client
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	archived(t, e, insp, r)
	for i := range 2 {
		if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
			t.Fatalf("replacement %d: %v %v, want enqueued", i+1, o, err)
		}
		if lockTTL <= 0 || lockTTL > time.Minute {
			t.Errorf("replacement %d: lock's TTL %s, want seconds", i+1, lockTTL)
		}
		if err := insp.ArchiveTask(QueueReplies, r.Target.String()); err != nil {
			t.Fatal(err)
		}
	}
	if n := db.Client.Exists(ctx, e.Ledger.pageKey(r.PageID, "replace:"+r.Target.String())).Val(); n != 0 {
		t.Errorf("the replacement's lock is left after it")
	}
}

// TestReplaceLockTakenOver: a producer whose lock expired while it replaced
// (and that another producer took) leaves the other's lock alone when it is
// done. Kills: an unlock that deletes whatever lock it finds.
func TestReplaceLockTakenOver(t *testing.T) {
	ctx := context.Background()
	var probe *redis.Client
	e, insp, db := hookedEnqueuer(t, func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		err := next(ctx, cmd)
		if isCmd(cmd, "set", ":replace:") {
			probe.Set(ctx, cmd.Args()[1].(string), "another producer", time.Minute)
		}
		return err
	})
	probe = db.Client
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	archived(t, e, insp, r)
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("replacement: %v %v", o, err)
	}
	if v := db.Client.Get(ctx, e.Ledger.pageKey(r.PageID, "replace:"+r.Target.String())).Val(); v != "another producer" {
		t.Errorf("lock %q after the replacement, want the other producer's kept", v)
	}
}

// TestReplaceAfterOtherProducer: a producer that found the task archived,
// and takes the lock after another producer replaced it, is told queued and
// keeps the other's new task (asynq deletes a pending task as readily as an
// archived one). Kills: the state not read again under the lock.
func TestReplaceAfterOtherProducer(t *testing.T) {
	ctx := context.Background()
	var e *Enqueuer
	var insp *asynq.Inspector
	other := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "other", Source: SourceWebhook, EnqueuedAt: 1}
	e, insp, _ = hookedEnqueuer(t, func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		if isCmd(cmd, "set", ":replace:") {
			// The other producer replaced it just before.
			if err := insp.DeleteTask(QueueReplies, other.Target.String()); err != nil {
				return err
			}
			payload, _ := json.Marshal(other)
			if _, err := e.Client.EnqueueContext(ctx, asynq.NewTask(TypeReply, payload), ReplyTaskOptions(&other, e.MaxRetry, time.Hour)...); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	})
	r := Reply{PageID: "7", Target: other.Target, Text: "first", Source: SourcePoll}
	archived(t, e, insp, r)
	r.Text = "mine"
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != AlreadyQueued {
		t.Fatalf("enqueue after another producer's replacement: %v %v, want queued", o, err)
	}
	if st, text := taskText(t, insp, r.Target); st != asynq.TaskStatePending || text != "other" {
		t.Errorf("task %s %q, want the other producer's pending task", st, text)
	}
}

// TestReplaceAfterArchivedGone: an archived task deleted between the
// enqueue's first look and its lock (its retention ran out, an operator's
// Delete) leaves nothing to replace: the target is queued anew. Kills:
// a task not found under the lock taken for queued.
func TestReplaceAfterArchivedGone(t *testing.T) {
	ctx := context.Background()
	var insp *asynq.Inspector
	tg := Target{KindComment, "7_1"}
	e, insp, _ := hookedEnqueuer(t, func(ctx context.Context, cmd redis.Cmder, next redis.ProcessHook) error {
		if isCmd(cmd, "set", ":replace:") {
			if err := insp.DeleteTask(QueueReplies, tg.String()); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	})
	r := Reply{PageID: "7", Target: tg, Text: "first", Source: SourcePoll}
	archived(t, e, insp, r)
	r.Text = "again"
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue after the archived task was deleted: %v %v, want enqueued", o, err)
	}
	if st, text := taskText(t, insp, tg); st != asynq.TaskStatePending || text != "again" {
		t.Errorf("task %s %q, want pending with the new text", st, text)
	}
}

// TestReplaceLockFails: a target whose archived task cannot be locked for
// its replacement (Redis failing that call) is an error, not "queued": its
// producer (a poll, a webhook delivery) then tries again, where "queued"
// would drop the reply until the next find. Kills: the lock's error taken
// for a lock held.
func TestReplaceLockFails(t *testing.T) {
	e, insp, _ := hookedEnqueuer(t, failCmd(":replace:", "set"))
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	archived(t, e, insp, r)
	if o, _, err := e.Enqueue(context.Background(), r); !errors.Is(err, errHooked) {
		t.Fatalf("enqueue with the lock failing: %v %v, want the error", o, err)
	}
}

// brokenInspector makes e's Inspector one whose Redis is away, and
// returns a function that gives the working one back.
func brokenInspector(t *testing.T, e *Enqueuer, db *redistest.DB) func() {
	t.Helper()
	cut := redistest.NewCut(t, db.Addr)
	cut.Down()
	broken := asynq.NewInspector(asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB, DialTimeout: time.Second})
	t.Cleanup(func() { _ = broken.Close() })
	good := e.Inspector
	e.Inspector = broken
	return func() { e.Inspector = good }
}

// TestReplaceReadFails: an enqueue of a target whose queued task cannot be
// read (the Inspector's Redis away) is an error, not "queued": the task may
// be archived, and "queued" would drop the find. Kills: the read's error
// under the lock taken for a live task.
func TestReplaceReadFails(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	e, insp := inspectingEnqueuerOn(t, db)
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	archived(t, e, insp, r)
	restore := brokenInspector(t, e, db)
	if o, _, err := e.Enqueue(ctx, r); err == nil {
		t.Fatalf("enqueue with its archived task unreadable: %v, no error", o)
	}
	restore()
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
		t.Fatalf("enqueue with the Inspector back: %v %v, want enqueued", o, err)
	}
}

// TestGiveUpReadFails: past MaxReplacements, a target whose task cannot be
// read (it may be running again, an operator's Run) is an error, not
// recorded failed for good. Kills: the read's error taken for no task.
func TestGiveUpReadFails(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	e, insp := inspectingEnqueuerOn(t, db)
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	archived(t, e, insp, r)
	if err := insp.RunTask(QueueReplies, r.Target.String()); err != nil { // an operator runs it again
		t.Fatal(err)
	}
	for range MaxReplacements + 1 {
		if _, err := e.Ledger.CountRanOut(ctx, "7", r.Target, "code 2"); err != nil {
			t.Fatal(err)
		}
	}
	restore := brokenInspector(t, e, db)
	if o, _, err := e.Enqueue(ctx, r); err == nil {
		t.Fatalf("enqueue past the cap with its task unreadable: %v, no error", o)
	}
	if en, err := e.Ledger.Get(ctx, "7", r.Target); err != nil || en.Status != StatusNone {
		t.Fatalf("ledger %+v %v, want nothing recorded while the task could not be read", en, err)
	}
	restore()
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != AlreadyQueued {
		t.Fatalf("enqueue with the Inspector back: %v %v, want queued (the task runs again)", o, err)
	}
}

// TestGiveUpMarkFails: a target past MaxReplacements whose failure cannot
// be recorded is an error, not "failed": the ledger would not have it, and
// the caller would report a state nothing keeps. Kills: MarkFailed's error
// swallowed.
func TestGiveUpMarkFails(t *testing.T) {
	ctx := context.Background()
	e, _, _ := hookedEnqueuer(t, failCmd("f|", "evalsha", "eval"))
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hi", Source: SourcePoll}
	for range MaxReplacements + 1 {
		if _, err := e.Ledger.CountRanOut(ctx, "7", r.Target, "code 2"); err != nil {
			t.Fatal(err)
		}
	}
	if o, _, err := e.Enqueue(ctx, r); !errors.Is(err, errHooked) || o != "" {
		t.Fatalf("enqueue past the cap, its failure not recorded: %v %v, want the error", o, err)
	}
}

// TestEnqueueManyNone: a batch of no replies is no outcome and no error (a
// poll that found nothing new). Kills: the read of no targets sent to Redis
// (an MGET of no keys is an error).
func TestEnqueueManyNone(t *testing.T) {
	e, _ := inspectingEnqueuer(t)
	if outs, err := e.EnqueueMany(context.Background(), "7", nil); err != nil || len(outs) != 0 {
		t.Fatalf("EnqueueMany of nothing: %v %v", outs, err)
	}
}

// TestCountRanOutClipsError: the last error kept with a target's count is
// clipped like a ledger reason (a Graph answer can be long), and a reason
// of exactly the limit is kept whole. Kills: the stored error unclipped, a
// limit one byte short.
func TestCountRanOutClipsError(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t)
	tg := Target{KindComment, "7_1"}
	if _, err := l.CountRanOut(ctx, "7", tg, strings.Repeat("e", 10_000)); err != nil {
		t.Fatal(err)
	}
	if v := l.rdb.Get(ctx, l.ranOutKey("7", tg)).Val(); len(v) > len("1|")+300+len("…") {
		t.Errorf("count's value is %d bytes, want the error clipped to 300", len(v))
	}
	exact := strings.Repeat("x", 300)
	if got := clipReason(exact); got != exact {
		t.Errorf("clipReason of exactly 300 bytes cut to %q", got)
	}
}
