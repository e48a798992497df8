package intake

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// TestCheckHiddenNeedsSkipHidden_audit16: a comment the Page hid is skipped
// as hidden only on a Page with skip_hidden; any other Page answers it.
func TestCheckHiddenNeedsSkipHidden_audit16(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	it := Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2"}, From: graph.User{ID: "7", Name: "Ana"},
		Created: now.Add(-time.Hour), CanReplyPrivately: true, Hidden: true}
	page := &config.Page{ID: "100", DefaultText: "Thanks!"}
	if text, reason, err := Check(page, it, now); text != "Thanks!" || reason != "" || err != nil {
		t.Fatalf("hidden comment, no skip_hidden: Check = %q %q %v, want the reply", text, reason, err)
	}
	page.SkipHidden = true
	if text, reason, err := Check(page, it, now); text != "" || reason != SkipHidden || err != nil {
		t.Fatalf("hidden comment, skip_hidden: Check = %q %q %v, want skipped hidden", text, reason, err)
	}
}

// TestPageAnswerNeedsTime_audit16: a person's message without its time has
// no answer, whatever the Page wrote: nothing tells an answer from an
// instant reply (the window check refuses such a message instead).
func TestPageAnswerNeedsTime_audit16(t *testing.T) {
	page, person := graph.User{ID: "100"}, graph.User{ID: "7", Name: "Ana"}
	msgs := []graph.Message{
		{ID: "m_2", From: &page, CreatedTime: graph.Time{Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}},
		{ID: "m_1", From: &person},
	}
	if a := PageAnswer("100", msgs, &msgs[1]); a != nil {
		t.Fatalf("PageAnswer of a message without time = %+v, want none", a)
	}
	it, reason, why := ConversationItemWhy("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, person}, Messages: msgs})
	if reason != "" || it.Target.ID != "m_1" {
		t.Fatalf("ConversationItemWhy = %+v %q %q, want the item of m_1 (refused later as too old)", it, reason, why)
	}
}

// TestConversationPersonIgnoresIDless_audit16: a participant Graph lists
// without an id, before or after the person, is left aside: the
// conversation is not taken for a group thread.
func TestConversationPersonIgnoresIDless_audit16(t *testing.T) {
	person := graph.User{ID: "7", Name: "Ana"}
	for _, ps := range [][]graph.User{
		{{ID: "100"}, person, {Name: "nameless"}},
		{{Name: "nameless"}, person, {ID: "100"}},
	} {
		if got, why := ConversationPerson("100", ps); got.ID != "7" || why != "" {
			t.Errorf("ConversationPerson(%+v) = %+v %q, want the person 7", ps, got, why)
		}
	}
}

// TestConversationFromWithoutID_audit16: the person's latest message with
// a from that has no id (a name only) counts as the person's, as a message
// without from does: it is answered, not refused as another writer's.
func TestConversationFromWithoutID_audit16(t *testing.T) {
	page, person := graph.User{ID: "100"}, graph.User{ID: "7"}
	conv := graph.Conversation{ID: "t_1", Participants: []graph.User{page, person}, Messages: []graph.Message{
		{ID: "m_1", From: &graph.User{Name: "Ana Lopez"}, CreatedTime: graph.Time{Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}},
	}}
	it, reason, why := ConversationItemWhy("100", conv)
	if reason != "" || it.Target.ID != "m_1" || it.PSID != "7" || it.From.Name != "Ana Lopez" {
		t.Fatalf("ConversationItemWhy = %+v %q %q, want m_1 for PSID 7, named from the message", it, reason, why)
	}
}

// TestDryRunListsStaleHideMark_audit16: a dry run on a Page without
// skip_hidden lists the reply of a comment the webhook marked hidden (while
// the Page had skip_hidden), as the real run queues it; on a Page with
// skip_hidden the mark stands and the comment counts as already replied.
func TestDryRunListsStaleHideMark_audit16(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	it := commentItem("1_1", time.Now())
	if ok, err := in.Ledger.MarkHidden(ctx, "100", it.Target.ID, time.Time{}); err != nil || !ok {
		t.Fatalf("mark hidden = %v %v", ok, err)
	}
	for _, skipHidden := range []bool{false, true} {
		page := &config.Page{ID: "100", DefaultText: "Thanks!", SkipHidden: skipHidden}
		b := in.NewBatch(page, tasks.SourcePoll, true)
		if _, err := b.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		rep := b.Report()
		listed := len(rep.Replies) == 1 && rep.Replies[0].Target == it.Target
		if listed == skipHidden || rep.Skipped[SkipAlreadyReplied] != map[bool]int{false: 0, true: 1}[skipHidden] {
			t.Errorf("skip_hidden %v: dry run lists %+v, skipped %v", skipHidden, rep.Replies, rep.Skipped)
		}
	}
}
