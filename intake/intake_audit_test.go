package intake

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// counter is the value of one counter of vec.
func counter(t *testing.T, vec *prometheus.CounterVec, labels ...string) float64 {
	t.Helper()
	var d dto.Metric
	if err := vec.WithLabelValues(labels...).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// TestConversationItemNamelessParticipant: a participant with no id (Graph
// hides some) is not the person: the person after it is answered, not
// skipped as nobody to answer.
func TestConversationItemNamelessParticipant(t *testing.T) {
	ana := graph.User{ID: "7", Name: "Ana"}
	it, reason := ConversationItem("100", graph.Conversation{ID: "t_1",
		Participants: []graph.User{{Name: "hidden"}, {ID: "100"}, ana},
		Messages:     []graph.Message{{ID: "m_1", From: &ana, CreatedTime: graph.Time{Time: time.Now()}}}})
	if reason != "" || it.PSID != "7" {
		t.Fatalf("participant without id first: %q, psid %q; want a reply to 7", reason, it.PSID)
	}
}

// TestCheckTemplateIDs: a template can name the person's and the Page's ids.
func TestCheckTemplateIDs(t *testing.T) {
	now := time.Now()
	page := &config.Page{ID: "100", DefaultText: "{{.UserID}}@{{.PageID}}"}
	it := Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2"}, From: graph.User{ID: "7"},
		Created: now.Add(-time.Minute), CanReplyPrivately: true}
	if text, reason, err := Check(page, it, now); text != "7@100" || reason != "" || err != nil {
		t.Fatalf("Check = %q, %q, %v; want 7@100", text, reason, err)
	}
}

// TestBatchAddKeepsSkipReason: a message skipped for its own reason keeps
// it even when the Page sent a textless message (an attachment) right after:
// the empty reply text of a skipped item is no match for it.
func TestBatchAddKeepsSkipReason(t *testing.T) {
	now := time.Now()
	b := (&Intake{}).NewBatch(&config.Page{ID: "100", DefaultText: "Thanks!"}, tasks.SourcePoll, false)
	msg := Item{Target: tasks.Target{Kind: tasks.KindMessage, ID: "m_1"}, PSID: "8", ConversationID: "t_1",
		From: graph.User{ID: "8"}, Created: now.Add(-25 * time.Hour), CanReplyPrivately: true, InstantAfter: []string{""}}
	if reason, err := b.Add(context.Background(), msg); reason != SkipTooOld || err != nil {
		t.Fatalf("old message, textless instant reply: %q, %v; want %q", reason, err, SkipTooOld)
	}
}

// TestDryRunQueueWithoutTask: a dry run on a queue that holds other tasks,
// not this reply's, lists the reply with no task, not an error.
func TestDryRunQueueWithoutTask(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	page := &config.Page{ID: "100", DefaultText: "Thanks!"}
	real := in.NewBatch(page, tasks.SourcePoll, false)
	if _, err := real.Add(ctx, commentItem("1_1", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := real.Flush(ctx); err != nil || real.Report().Enqueued() != 1 {
		t.Fatalf("enqueue: %v, %v", err, real.Report().Outcomes)
	}
	dry := in.NewBatch(page, tasks.SourcePoll, true)
	if _, err := dry.Add(ctx, commentItem("1_2", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := dry.Flush(ctx); err != nil {
		t.Fatalf("dry run, queue without its task: %v", err)
	}
	if rs := dry.Report().Replies; len(rs) != 1 || rs[0].Target.ID != "1_2" || rs[0].Task != "" {
		t.Fatalf("dry run lists %+v; want 1_2 with no task", rs)
	}
}

// TestDryRunFlushError: a dry run that cannot read the ledger says so.
func TestDryRunFlushError(t *testing.T) {
	in, _ := redisIntake(t)
	b := in.NewBatch(&config.Page{ID: "100", DefaultText: "Thanks!"}, tasks.SourcePoll, true)
	if _, err := b.Add(context.Background(), commentItem("1_1", time.Now())); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Flush(ctx); err == nil {
		t.Fatal("dry run that cannot read the ledger: no error")
	}
}

// TestBatchMetrics: every item seen is counted, added or discarded, and each
// enqueue outcome under the batch's source; a reply the enqueue refuses as
// invalid is counted as malformed only.
func TestBatchMetrics(t *testing.T) {
	in, _ := redisIntake(t)
	m := metrics.New()
	in.Metrics = m
	ctx := context.Background()
	b := in.NewBatch(&config.Page{ID: "100", DefaultText: "Thanks!"}, tasks.SourceWebhook, false)
	if _, err := b.Add(ctx, commentItem("1_1", time.Now())); err != nil {
		t.Fatal(err)
	}
	if src := b.pending[0].Source; src != tasks.SourceWebhook {
		t.Fatalf("reply's source %q, want %q", src, tasks.SourceWebhook)
	}
	b.Discard(SkipNotOnPage)
	b.pending = append(b.pending, tasks.Reply{PageID: "100", Target: tasks.Target{Kind: tasks.KindComment, ID: "bad id"}, Text: "x"})
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := counter(t, m.CommentsSeen, "100"); n != 2 {
		t.Errorf("comments seen %v, want 2", n)
	}
	if n := counter(t, m.Enqueued, "100", string(tasks.SourceWebhook), string(tasks.Enqueued)); n != 1 {
		t.Errorf("enqueued from the webhook %v, want 1", n)
	}
	if n := counter(t, m.Enqueued, "100", string(tasks.SourceWebhook), string(tasks.Invalid)); n != 0 {
		t.Errorf("invalid counted as an enqueue outcome %v times", n)
	}
	if rep := b.Report(); rep.Skipped[SkipMalformed] != 1 || rep.Enqueued() != 1 {
		t.Errorf("report skipped %v, outcomes %v; want 1 malformed, 1 enqueued", rep.Skipped, rep.Outcomes)
	}
}
