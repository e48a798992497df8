package intake

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

func testPage(defaultText string) *config.Page {
	return &config.Page{
		ID:          "100",
		MaxAge:      48 * time.Hour,
		Rules:       []config.Rule{{Match: "(?i)price", Text: "Hi {{.FirstName}}, prices are online."}},
		DefaultText: defaultText,
	}
}

func TestCheck(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	person := graph.User{ID: "7", Name: "Ana Lopez"}
	item := func(f func(*Item)) Item {
		it := Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2"}, From: person, Message: "what price?",
			Created: now.Add(-time.Hour), CanReplyPrivately: true}
		if f != nil {
			f(&it)
		}
		return it
	}
	tests := []struct {
		name        string
		page        *config.Page
		it          Item
		wantText    string
		wantReason  Reason
		wantErrText bool
	}{
		{name: "rule match", page: testPage(""), it: item(nil), wantText: "Hi Ana, prices are online."},
		{name: "default text", page: testPage("Thanks {{.FirstName}}!"), it: item(func(it *Item) { it.Message = "hello" }), wantText: "Thanks Ana!"},
		{name: "no rule, no default", page: testPage(""), it: item(func(it *Item) { it.Message = "hello" }), wantReason: SkipNoRule},
		{name: "own", page: testPage("x"), it: item(func(it *Item) { it.From = graph.User{ID: "100"} }), wantReason: SkipOwn},
		{name: "cannot reply", page: testPage("x"), it: item(func(it *Item) { it.CanReplyPrivately = false }), wantReason: SkipCannotReply},
		{name: "too old for max_age", page: testPage("x"), it: item(func(it *Item) { it.Created = now.Add(-49 * time.Hour) }), wantReason: SkipTooOld},
		{name: "inside max_age", page: testPage("x"), it: item(func(it *Item) { it.Created = now.Add(-47 * time.Hour); it.Message = "" }), wantText: "x"},
		{name: "message past 24h", page: testPage("x"), it: item(func(it *Item) {
			it.Target.Kind = tasks.KindMessage
			it.Created = now.Add(-25 * time.Hour)
		}), wantReason: SkipTooOld},
		{name: "no time", page: testPage("x"), it: item(func(it *Item) { it.Created = time.Time{} }), wantReason: SkipTooOld},
		// max_age is configurable down, never up: a Page built with a longer
		// one (past config's validation) keeps Meta's 7 days.
		{name: "max_age past 7 days clamped", page: &config.Page{ID: "100", MaxAge: 200 * time.Hour, DefaultText: "x"},
			it: item(func(it *Item) { it.Created = now.Add(-169 * time.Hour) }), wantReason: SkipTooOld},
		{name: "render error", page: &config.Page{ID: "100", DefaultText: "{{.Nope}}"}, it: item(nil), wantReason: SkipRenderError, wantErrText: true},
		// Rendered texts pass the API's check of texts (config.CheckText).
		// A control character a person wrote is dropped, not a reason to
		// send nothing; one in the template is the config's fault.
		{name: "control character in a comment", page: &config.Page{ID: "100", DefaultText: "You said: {{.Message}}, {{.FirstName}}"},
			it: item(func(it *Item) { it.Message = "hel\x00lo\x1b"; it.From.Name = "Ann\x07 Lee" }), wantText: "You said: hello, Ann"},
		{name: "control character in the template", page: &config.Page{ID: "100", DefaultText: "Hi\x07 {{.FirstName}}"},
			it: item(nil), wantReason: SkipRenderError, wantErrText: true},
		{name: "rendered invisible only", page: &config.Page{ID: "100", DefaultText: "{{.Message}}"},
			it: item(func(it *Item) { it.Message = "\u200b\u2060" }), wantReason: SkipRenderError, wantErrText: true},
		{name: "rendered newline and tab kept", page: &config.Page{ID: "100", DefaultText: "You said:\n\t{{.Message}}"},
			it: item(func(it *Item) { it.Message = "hello" }), wantText: "You said:\n\thello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, reason, err := Check(tt.page, tt.it, now)
			if text != tt.wantText || reason != tt.wantReason || (err != nil) != tt.wantErrText {
				t.Fatalf("Check = %q, %q, %v; want %q, %q, error %v", text, reason, err, tt.wantText, tt.wantReason, tt.wantErrText)
			}
		})
	}
}

func TestConversationItem(t *testing.T) {
	at := func(h int) graph.Time { return graph.Time{Time: time.Date(2026, 3, 1, h, 0, 0, 0, time.UTC)} }
	page, person := graph.User{ID: "100", Name: "Shop"}, graph.User{ID: "7", Name: "Ana"}
	tests := []struct {
		name       string
		conv       graph.Conversation
		wantTarget string
		wantReason Reason
	}{
		{name: "person wrote last", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page, person},
			Messages: []graph.Message{{ID: "m_2", From: &person, CreatedTime: at(10)}, {ID: "m_1", From: &page, CreatedTime: at(9)}}},
			wantTarget: "message:m_2"},
		{name: "order does not matter", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{person, page},
			Messages: []graph.Message{{ID: "m_1", From: &person, CreatedTime: at(9)}, {ID: "m_3", From: &person, CreatedTime: at(11)}}},
			wantTarget: "message:m_3"},
		{name: "page wrote last", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page, person},
			Messages: []graph.Message{{ID: "m_2", From: &page, CreatedTime: at(10)}, {ID: "m_1", From: &person, CreatedTime: at(9)}}},
			wantReason: SkipOwn},
		// Messenger's instant reply and greeting come the moment the
		// person writes: they answer nobody.
		{name: "instant reply after the person's message", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page, person},
			Messages: []graph.Message{
				{ID: "m_4", From: &page, CreatedTime: graph.Time{Time: at(9).Add(3 * time.Second)}},
				{ID: "m_3", From: &page, CreatedTime: graph.Time{Time: at(9).Add(time.Second)}},
				{ID: "m_2", From: &person, CreatedTime: at(9)},
				{ID: "m_1", From: &page, CreatedTime: at(8)}}},
			wantTarget: "message:m_2"},
		{name: "an answer after the instant reply", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page, person},
			Messages: []graph.Message{
				{ID: "m_4", From: &page, CreatedTime: graph.Time{Time: at(9).Add(time.Minute)}},
				{ID: "m_3", From: &page, CreatedTime: graph.Time{Time: at(9).Add(time.Second)}},
				{ID: "m_2", From: &person, CreatedTime: at(9)}}},
			wantReason: SkipOwn},
		{name: "only the page wrote", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page, person},
			Messages: []graph.Message{{ID: "m_1", From: &page, CreatedTime: at(9)}}},
			wantReason: SkipOwn},
		{name: "no person", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page},
			Messages: []graph.Message{{ID: "m_1", From: &person, CreatedTime: at(9)}}}, wantReason: SkipCannotReply},
		{name: "no message", conv: graph.Conversation{ID: "t_1", Participants: []graph.User{page, person}}, wantReason: SkipCannotReply},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, reason := ConversationItem("100", tt.conv)
			if reason != tt.wantReason {
				t.Fatalf("reason %q, want %q", reason, tt.wantReason)
			}
			if reason == "" {
				if it.Target.String() != tt.wantTarget || it.PSID != "7" || it.ConversationID != "t_1" {
					t.Fatalf("item %+v, want target %s, psid 7, conversation t_1", it, tt.wantTarget)
				}
			}
		})
	}
}

func TestOnPage(t *testing.T) {
	const page = "100"
	other := &graph.User{ID: "200"}
	for _, tc := range []struct {
		name string
		p    graph.Post
		want bool
	}{
		{"the Page's post", graph.Post{ID: "100_1", From: &graph.User{ID: page}}, true},
		{"a visitor's post on the Page", graph.Post{ID: "100_2", From: other}, true},
		{"a visitor hidden by privacy", graph.Post{ID: "100_3"}, true},
		{"a post elsewhere tagging the Page", graph.Post{ID: "200_4", From: other}, false},
		{"a post elsewhere, author hidden", graph.Post{ID: "200_5"}, false},
		{"another prefix, written by the Page", graph.Post{ID: "300_6", From: &graph.User{ID: page}}, true},
		{"an id without a profile", graph.Post{ID: "7", From: other}, true},
	} {
		if got := OnPage(page, tc.p); got != tc.want {
			t.Errorf("%s: OnPage = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestBatchSkipsMalformedItem: an item whose reply the tasks would refuse
// (an id of no shape they take) is skipped as malformed when it is added,
// not left to fail the batch's enqueue, which dropped every reply after it.
func TestBatchSkipsMalformedItem(t *testing.T) {
	page := testPage("Thanks!")
	b := (&Intake{}).NewBatch(page, tasks.SourcePoll, false)
	it := Item{Target: tasks.Target{Kind: tasks.KindComment, ID: "1_2 " + strings.Repeat("x", 300)}, From: graph.User{ID: "7"},
		Created: time.Now().Add(-time.Minute), CanReplyPrivately: true}
	reason, err := b.Add(context.Background(), it)
	if err != nil || reason != SkipMalformed || b.Pending() != 0 || b.Report().Skipped[SkipMalformed] != 1 {
		t.Fatalf("Add = %q, %v; pending %d, skipped %v; want malformed, nothing pending", reason, err, b.Pending(), b.Report().Skipped)
	}
	it.Target.ID = "1_2"
	if reason, err := b.Add(context.Background(), it); err != nil || reason != "" || b.Pending() != 1 {
		t.Fatalf("Add of a good item = %q, %v; pending %d", reason, err, b.Pending())
	}
}
