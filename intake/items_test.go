package intake

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// TestItemsCarryGraphFields: CommentItem and PostItem keep what the rules
// read: the author (the Page's own items are skipped by it), the post, and
// can_reply_privately. Checked through Check, as the poll and the webhook
// use them.
func TestItemsCarryGraphFields(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	created := graph.Time{Time: now.Add(-time.Hour)}
	page := &config.Page{ID: "100", DefaultText: "{{.FirstName}} {{.PostID}} {{.CommentID}}"}
	ana := &graph.User{ID: "7", Name: "Ana Lopez"}
	tests := []struct {
		name       string
		it         Item
		wantText   string
		wantReason Reason
	}{
		{name: "comment", it: CommentItem("100_1", graph.Comment{ID: "1_2", From: ana, CreatedTime: created, CanReplyPrivately: true}),
			wantText: "Ana 100_1 1_2"},
		{name: "the Page's comment", it: CommentItem("100_1", graph.Comment{ID: "1_3", From: &graph.User{ID: "100"}, CreatedTime: created, CanReplyPrivately: true}),
			wantReason: SkipOwn},
		{name: "comment not replyable", it: CommentItem("100_1", graph.Comment{ID: "1_4", From: ana, CreatedTime: created}),
			wantReason: SkipCannotReply},
		{name: "visitor post", it: PostItem(graph.Post{ID: "100_5", From: ana, CreatedTime: created, CanReplyPrivately: true}),
			wantText: "Ana 100_5"},
		{name: "the Page's post", it: PostItem(graph.Post{ID: "100_6", From: &graph.User{ID: "100"}, CreatedTime: created, CanReplyPrivately: true}),
			wantReason: SkipOwn},
		{name: "post not replyable", it: PostItem(graph.Post{ID: "100_7", From: ana, CreatedTime: created}),
			wantReason: SkipCannotReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, reason, err := Check(page, tt.it, now)
			if err != nil || text != tt.wantText || reason != tt.wantReason {
				t.Fatalf("Check = %q, %q, %v; want %q, %q", text, reason, err, tt.wantText, tt.wantReason)
			}
		})
	}
	if it := PostItem(graph.Post{ID: "100_5"}); it.Target.Kind != tasks.KindPost || it.PostID != "100_5" {
		t.Fatalf("PostItem target %s, post %q; want post:100_5", it.Target, it.PostID)
	}
}

// TestConversationItemDetails: the person is the one participant that is
// not the Page, and keeps a name the message gives when the participants do
// not; a message with no id, or with no from (the person's, as the API
// counts it), and the instant replies around Messenger's 10 s.
func TestConversationItemDetails(t *testing.T) {
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	tm := func(d time.Duration) graph.Time { return graph.Time{Time: at.Add(d)} }
	page := graph.User{ID: "100", Name: "Shop"}
	ana, bob := graph.User{ID: "7", Name: "Ana"}, graph.User{ID: "8", Name: "Bob"}

	// Two people besides the Page: no one person to answer
	// (TestConversationItemOddShapes_audit6).
	it, reason := ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, ana, bob},
		Messages: []graph.Message{{ID: "m_1", From: &ana, CreatedTime: tm(0)}}})
	if reason != SkipCannotReply {
		t.Fatalf("three participants: %q, psid %q; want %q", reason, it.PSID, SkipCannotReply)
	}

	anon := graph.User{ID: "7"}
	it, reason = ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, anon},
		Messages: []graph.Message{{ID: "m_1", From: &ana, CreatedTime: tm(0), Message: "hi"}}})
	if reason != "" || it.From.Name != "Ana" || it.Message != "hi" || !it.CanReplyPrivately {
		t.Fatalf("nameless participant: %q, %+v; want name Ana from the message", reason, it)
	}
	it, _ = ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, ana},
		Messages: []graph.Message{{ID: "m_1", From: &graph.User{ID: "7", Name: "Other"}, CreatedTime: tm(0)}}})
	if it.From.Name != "Ana" {
		t.Fatalf("participant's name replaced by the message's: %q", it.From.Name)
	}

	if _, reason := ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, ana},
		Messages: []graph.Message{{From: &ana, CreatedTime: tm(0)}}}); reason != SkipCannotReply {
		t.Fatalf("message without an id: %q, want %q", reason, SkipCannotReply)
	}

	// A message without from is the person's, even after a Page message.
	it, reason = ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, ana},
		Messages: []graph.Message{{ID: "m_2", CreatedTime: tm(time.Hour)}, {ID: "m_1", From: &page, CreatedTime: tm(0)}}})
	if reason != "" || it.Target.ID != "m_2" {
		t.Fatalf("message without from: %q, target %s; want message:m_2", reason, it.Target)
	}

	// A Page message exactly InstantReplyWithin after is still instant; the
	// instant texts are the Page's only, not the person's own message.
	it, reason = ConversationItem("100", graph.Conversation{ID: "t_1", Participants: []graph.User{page, ana},
		Messages: []graph.Message{
			{ID: "m_3", From: &page, CreatedTime: tm(InstantReplyWithin), Message: "Away now"},
			{ID: "m_2", From: &ana, CreatedTime: tm(0), Message: "hello"},
			{ID: "m_1", From: &page, CreatedTime: tm(-time.Hour), Message: "earlier"}}})
	if reason != "" || it.Target.ID != "m_2" || len(it.InstantAfter) != 1 || it.InstantAfter[0] != "Away now" {
		t.Fatalf("instant reply at %s: %q, %+v; want target m_2, instant [Away now]", InstantReplyWithin, reason, it)
	}
}

func TestSameText(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Thanks Ana!", "Thanks Ana!", true},
		{"Thanks  Ana!\n", " Thanks Ana!", true},
		{"Thanks\tAna!", "Thanks Ana!", true},
		{"Thanks Ana!", "Thanks Bob!", false},
		{"ThanksAna!", "Thanks Ana!", false},
	} {
		if got := SameText(tc.a, tc.b); got != tc.want {
			t.Errorf("SameText(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestWindow: max_age shortens the messaging window too; it never lengthens
// either window.
func TestWindow(t *testing.T) {
	for _, tc := range []struct {
		maxAge time.Duration
		kind   tasks.Kind
		want   time.Duration
	}{
		{0, tasks.KindComment, DefaultMaxAge},
		{0, tasks.KindMessage, MessagingWindow},
		{12 * time.Hour, tasks.KindComment, 12 * time.Hour},
		{12 * time.Hour, tasks.KindPost, 12 * time.Hour},
		{12 * time.Hour, tasks.KindMessage, 12 * time.Hour},
		{48 * time.Hour, tasks.KindMessage, MessagingWindow},
		{200 * time.Hour, tasks.KindPost, DefaultMaxAge},
	} {
		if got := Window(&config.Page{ID: "100", MaxAge: tc.maxAge}, tc.kind); got != tc.want {
			t.Errorf("Window(max_age %s, %s) = %s, want %s", tc.maxAge, tc.kind, got, tc.want)
		}
	}
}

// TestCheckWindowEnd: an item exactly as old as the window is inside it; a
// millisecond more is not.
func TestCheckWindowEnd(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	page := &config.Page{ID: "100", MaxAge: 48 * time.Hour, DefaultText: "x"}
	it := Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2"}, From: graph.User{ID: "7"},
		Created: now.Add(-48 * time.Hour), CanReplyPrivately: true}
	if text, reason, err := Check(page, it, now); text != "x" || reason != "" || err != nil {
		t.Fatalf("at the window's end: %q, %q, %v; want a reply", text, reason, err)
	}
	it.Created = it.Created.Add(-time.Millisecond)
	if _, reason, _ := Check(page, it, now); reason != SkipTooOld {
		t.Fatalf("past the window's end: %q, want %q", reason, SkipTooOld)
	}
}

// TestBatchAdd: the batch judges items by its Intake's clock, skips a
// conversation whose instant reply is this very reply (pagereply sent it),
// and fills the reply task: its Created, and the author as Person for
// comments and posts only.
func TestBatchAdd(t *testing.T) {
	now := time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC) // long ago: time.Now would find it too old
	m := metrics.New()
	in := &Intake{Now: func() time.Time { return now }, Metrics: m}
	b := in.NewBatch(&config.Page{ID: "100", DefaultText: "Thanks {{.FirstName}}!"}, tasks.SourcePoll, false)
	ctx := context.Background()
	comment := Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2"}, From: graph.User{ID: "7", Name: "Ana"},
		Created: now.Add(-time.Hour), CanReplyPrivately: true}
	if reason, err := b.Add(ctx, comment); reason != "" || err != nil {
		t.Fatalf("comment: %q, %v; want a reply at the Intake's clock", reason, err)
	}
	msg := Item{Target: tasks.Target{Kind: tasks.KindMessage, ID: "m_1"}, PSID: "8", ConversationID: "t_1",
		From: graph.User{ID: "8", Name: "Bob"}, Created: now.Add(-time.Minute), CanReplyPrivately: true,
		InstantAfter: []string{"We are away"}}
	if reason, err := b.Add(ctx, msg); reason != "" || err != nil {
		t.Fatalf("message after an instant reply: %q, %v; want a reply", reason, err)
	}
	if len(b.pending) != 2 {
		t.Fatalf("%d pending, want 2", len(b.pending))
	}
	if r := b.pending[0]; r.Person != "7" || r.Created != now.Add(-time.Hour).UnixMilli() || r.Text != "Thanks Ana!" {
		t.Errorf("comment reply %+v; want person 7, created %d", r, now.Add(-time.Hour).UnixMilli())
	}
	if r := b.pending[1]; r.Person != "" || r.PSID != "8" || r.ConversationID != "t_1" {
		t.Errorf("message reply %+v; want no person, psid 8, conversation t_1", r)
	}
	msg.Target.ID, msg.InstantAfter = "m_2", []string{"We are away", " Thanks  Bob! "}
	if reason, _ := b.Add(ctx, msg); reason != SkipOwn || b.Pending() != 2 {
		t.Fatalf("message answered by this reply: %q, pending %d; want %q", reason, b.Pending(), SkipOwn)
	}
	b.Discard(SkipCannotReply)
	rep := b.Report()
	if rep.Seen != 4 || rep.Skipped[SkipOwn] != 1 || rep.Skipped[SkipCannotReply] != 1 {
		t.Fatalf("report: seen %d, skipped %v; want 4 seen, own 1, cannot_reply 1", rep.Seen, rep.Skipped)
	}
	count := func(reason Reason) float64 {
		var d dto.Metric
		if err := m.PollSkipped.WithLabelValues("100", string(reason)).Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetCounter().GetValue()
	}
	if count(SkipOwn) != 1 || count(SkipCannotReply) != 1 {
		t.Fatalf("poll skipped metric: own %v, cannot_reply %v; want 1 each", count(SkipOwn), count(SkipCannotReply))
	}
}

func TestClipID(t *testing.T) {
	if id := strings.Repeat("1", 64); clipID(id) != id {
		t.Fatalf("64 bytes clipped: %q", clipID(id))
	}
	if got := clipID(strings.Repeat("1", 65)); got != strings.Repeat("1", 64)+"…" {
		t.Fatalf("65 bytes: %q, want 64 and an ellipsis", got)
	}
	// A character across the cut is left out whole, not cut in two.
	got := clipID(strings.Repeat("1", 63) + "é" + strings.Repeat("2", 10))
	if !utf8.ValidString(got) || got != strings.Repeat("1", 63)+"…" {
		t.Fatalf("clip across a character: %q", got)
	}
}

func TestUnixMilli(t *testing.T) {
	if got := unixMilli(time.Time{}); got != 0 {
		t.Fatalf("unixMilli(zero) = %d, want 0", got)
	}
	if at := time.UnixMilli(1_772_000_000_123); unixMilli(at) != 1_772_000_000_123 {
		t.Fatalf("unixMilli = %d", unixMilli(at))
	}
}
