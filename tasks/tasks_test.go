package tasks

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/redistest"
)

func TestParseTarget(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"comment", "comment:123_456", true},
		{"post", "post:100_2", true},
		{"message", "message:m_AbC-9+/=", false}, // '/' is not an id character
		{"message ok", "message:m_AbC-9+=", true},
		{"message old style", "message:mid.$cAAJsujCd2ORmA4RK5lhvVcTzD2cU", true},
		{"no kind", "123", false},
		{"unknown kind", "photo:1", false},
		{"empty id", "comment:", false},
		{"space", "comment:1 2", false},
		{"too long", "comment:" + strings.Repeat("1", 300), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := ParseTarget(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseTarget(%q) = %v, %v; want ok=%v", tc.in, tg, err, tc.ok)
			}
			if tc.ok && tg.String() != tc.in {
				t.Fatalf("round trip %q -> %q", tc.in, tg.String())
			}
		})
	}
}

func TestDecodeReplyRejectsBadPayloads(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not json", "{"},
		{"no page", `{"target":"comment:1","text":"hi"}`},
		{"page not numeric", `{"page_id":"abc","target":"comment:1","text":"hi"}`},
		{"bad target", `{"page_id":"1","target":"nope","text":"hi"}`},
		{"empty text", `{"page_id":"1","target":"comment:1","text":"  "}`},
		{"too long", `{"page_id":"1","target":"comment:1","text":"` + strings.Repeat("x", 2001) + `"}`},
		{"message without psid", `{"page_id":"1","target":"message:m1","text":"hi"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeReply([]byte(tc.in)); err == nil {
				t.Fatalf("DecodeReply(%s) succeeded", tc.name)
			}
		})
	}
	r, err := DecodeReply([]byte(`{"page_id":"1","target":"comment:1_2","text":"hi","source":"api"}`))
	if err != nil || r.Target != (Target{KindComment, "1_2"}) {
		t.Fatalf("good payload: %+v, %v", r, err)
	}
}

func TestEnqueueDedup(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	client := asynq.NewClient(asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = client.Close() })
	// With an Inspector: a pending task is queued, never replaced.
	e := &Enqueuer{Client: client, Ledger: NewLedger(db.Client, LedgerOptions{}), MaxRetry: 3,
		Inspector: asynq.NewInspectorFromRedisClient(db.Client)}
	r := Reply{PageID: "7", Target: Target{KindComment, "7_1"}, Text: "hello", Source: SourceAPI}

	o, info, err := e.Enqueue(ctx, r)
	if err != nil || o != Enqueued || info == nil || info.ID != "comment:7_1" || info.Queue != QueueReplies {
		t.Fatalf("first enqueue = %v %+v %v", o, info, err)
	}
	if info.MaxRetry != 3+ReplyRetryHeadroom {
		t.Fatalf("asynq max retry %d, want max_retry+ReplyRetryHeadroom", info.MaxRetry)
	}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != AlreadyQueued {
		t.Fatalf("second enqueue = %v %v, want queued", o, err)
	}
	if err := e.Ledger.MarkSent(ctx, "7", r.Target, "m"); err != nil {
		t.Fatal(err)
	}
	if o, _, err := e.Enqueue(ctx, r); err != nil || o != AlreadySent {
		t.Fatalf("enqueue after sent = %v %v, want sent", o, err)
	}
	// The payload carries no token and says where it came from.
	ti, err := asynq.NewInspector(asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}).GetTaskInfo(QueueReplies, "comment:7_1")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeReply(ti.Payload)
	if err != nil || got.Source != SourceAPI || got.EnqueuedAt == 0 {
		t.Fatalf("payload %s: %+v %v", ti.Payload, got, err)
	}

	outs, err := e.EnqueueMany(ctx, "7", []Reply{
		r,
		{PageID: "7", Target: Target{KindComment, "7_2"}, Text: "a", Source: SourcePoll},
		{PageID: "7", Target: Target{KindComment, "7_2"}, Text: "b", Source: SourcePoll},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Outcome{AlreadySent, Enqueued, AlreadyQueued}
	for i := range want {
		if outs[i] != want[i] {
			t.Fatalf("EnqueueMany outcomes %v, want %v", outs, want)
		}
	}
}

// The payload scanner agrees with encoding/json on everything it accepts, and
// accepts what json.Marshal writes for ordinary replies.
func FuzzScanReply(f *testing.F) {
	for _, r := range []Reply{
		{PageID: "100", Target: Target{Kind: KindComment, ID: "1_2"}, Text: "Thanks, Ann! 🎉 Ça va", Source: SourcePoll, EnqueuedAt: 1764000000000},
		{PageID: "100", Target: Target{Kind: KindMessage, ID: "m_1"}, PSID: "77", ConversationID: "t_9", Text: "Hi", Source: SourceAPI},
		// What the poll and the webhook write: the time the person wrote,
		// and on a Page with one reply per person, who.
		{PageID: "100", Target: Target{Kind: KindComment, ID: "1_3"}, Text: "Hi", Source: SourceWebhook, EnqueuedAt: 1764000000000,
			Created: 1763999990000, Person: "4242"},
	} {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		if got, ok := scanReply(b); !ok || got != r {
			f.Fatalf("scanReply(%s) = %+v, %v; want %+v", b, got, ok, r)
		}
	}
	for _, s := range []string{`{}`, `{"text":"a\nb"}`, `{"enqueued_at":1.5}`, `{"enqueued_at":01}`, `{"Text":"x"}`,
		`{"target":"bad"}`, `{"text":null}`, `{"text":"x","text":"y"}`, ` {"page_id" : "1" } `, `{"enqueued_at":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := scanReply(b)
		if !ok {
			return
		}
		var want Reply
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("scanReply accepted %q, which encoding/json refuses: %v", b, err)
		}
		if got != want {
			t.Fatalf("scanReply(%q) = %+v, encoding/json %+v", b, got, want)
		}
	})
}

// TestEnqueueReplacesArchivedOnce: producers that find the same archived
// task at once replace it once: one is told enqueued, the others queued, and
// the new task is the one queued (no producer deletes another's new task).
func TestEnqueueReplacesArchivedOnce(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	for round := range 40 {
		r := Reply{PageID: "7", Target: Target{KindComment, "7_" + strconv.Itoa(round)}, Text: "first", Source: SourcePoll}
		if o, _, err := e.Enqueue(ctx, r); err != nil || o != Enqueued {
			t.Fatalf("enqueue: %v %v", o, err)
		}
		if err := insp.ArchiveTask(QueueReplies, r.Target.String()); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		outs := make([]Outcome, 4)
		texts := []string{"a", "b", "c", "d"}
		for i := range outs {
			wg.Go(func() {
				r := r
				r.Text = texts[i]
				o, _, err := e.Enqueue(ctx, r)
				if err != nil {
					t.Error(err)
				}
				outs[i] = o
			})
		}
		wg.Wait()
		won := ""
		for i, o := range outs {
			if o == Enqueued {
				if won != "" {
					t.Fatalf("round %d: two producers told enqueued for one archived task: %v", round, outs)
				}
				won = texts[i]
			}
		}
		ti, err := insp.GetTaskInfo(QueueReplies, r.Target.String())
		if err != nil {
			t.Fatal(err)
		}
		got, _ := DecodeReply(ti.Payload)
		if won == "" || ti.State != asynq.TaskStatePending || got.Text != won {
			t.Fatalf("round %d: outcomes %v, task %s with text %q, want pending with the winner's text", round, outs, ti.State, got.Text)
		}
	}
}

// TestEnqueueManyOddItem: a reply that fails Validate is that reply's
// outcome, Invalid, not the batch's error. Before, EnqueueMany returned at the
// first such reply, so every reply after it in the batch was dropped, and the
// poll that found it failed at every slot. A Messenger message id of the
// older style (with a '$') is queued, its TaskID and ledger entry read back.
func TestEnqueueManyOddItem(t *testing.T) {
	ctx := context.Background()
	e, insp := inspectingEnqueuer(t)
	reply := func(kind Kind, id string) Reply {
		return Reply{PageID: "7", Target: Target{kind, id}, PSID: "42", Text: "hello", Source: SourcePoll}
	}
	rs := []Reply{
		reply(KindComment, "7_1"),
		reply(KindMessage, "m_odd id/with a space"),
		reply(KindMessage, "mid.$cAAJsujCd2ORmA4RK5lhvVcTzD2cU"),
		reply(KindComment, "7_2"),
	}
	outs, err := e.EnqueueMany(ctx, "7", rs)
	if err != nil {
		t.Fatalf("EnqueueMany: %v (outcomes %v)", err, outs)
	}
	if want := []Outcome{Enqueued, Invalid, Enqueued, Enqueued}; !slices.Equal(outs, want) {
		t.Fatalf("outcomes %v, want %v", outs, want)
	}
	old := rs[2].Target
	ti, err := insp.GetTaskInfo(QueueReplies, old.String())
	if err != nil {
		t.Fatalf("task of %s: %v", old, err)
	}
	if got, err := DecodeReply(ti.Payload); err != nil || got.Target != old {
		t.Fatalf("payload of %s: %+v, %v", old, got, err)
	}
	if _, err := e.Ledger.Get(ctx, "7", old); err != nil {
		t.Fatalf("ledger entry of %s: %v", old, err)
	}
	if outs, err := e.EnqueueMany(ctx, "7", rs[2:3]); err != nil || outs[0] != AlreadyQueued {
		t.Fatalf("second enqueue of %s: %v, %v; want queued", old, outs, err)
	}
}

// inspectingEnqueuer returns an Enqueuer with an Inspector (so it replaces
// archived tasks) on a fresh test database, and the Inspector.
func inspectingEnqueuer(t *testing.T) (*Enqueuer, *asynq.Inspector) {
	t.Helper()
	return inspectingEnqueuerOn(t, redistest.New(t))
}

// inspectingEnqueuerOn is inspectingEnqueuer on the test database db.
func inspectingEnqueuerOn(t *testing.T, db *redistest.DB) (*Enqueuer, *asynq.Inspector) {
	t.Helper()
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = insp.Close() })
	return &Enqueuer{Client: client, Ledger: NewLedger(db.Client, LedgerOptions{}), MaxRetry: 3, Inspector: insp}, insp
}
