package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/webhooktest"
	"github.com/pagereply/pagereply/tasks"
)

// TestWebhookCommentEditedEndToEnd_audit20: a person's edit of a comment
// (Meta's feed change item comment, verb edited, or edit) has the comment
// judged again on its current text, through real HTTP, Redis, asynq and a
// worker reading the Graph sandbox. A comment that matched no rule, edited
// to match, gets exactly one private reply, also when the edit comes after
// the add's item completed (its TaskID kept for hours) and when Meta
// delivers the edit twice; a comment already answered, edited, gets no
// second one.
func TestWebhookCommentEditedEndToEnd_audit20(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Seed: 21})
	pg := sb.Pages()[0]
	now := time.Now().Add(-time.Minute)
	ana := sandbox.User{ID: "5550011", Name: "Ana Lopez"}
	bo := sandbox.User{ID: "5550012", Name: "Bo Chen"}
	cy := sandbox.User{ID: "5550013", Name: "Cy Diaz"}
	post := sb.AddPost(pg.ID, sandbox.User{}, "Giveaway: comment PRICE to get the link", now)
	anaC := sb.AddComment(post, ana, "so nice!", now)   // edited to match
	boC := sb.AddComment(post, bo, "PRICE please", now) // answered, then edited
	cyC := sb.AddComment(post, cy, "looks great", now)  // edited to match, the edit delivered twice
	for _, id := range []string{post, anaC, boC, cyC} {
		if id == "" {
			t.Fatal("sandbox refused an item")
		}
	}
	pages := []config.Page{{ID: pg.ID, AccessToken: pg.Token, Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 1,
		ReplyTo: []string{config.ReplyComments}, MaxAge: 168 * time.Hour,
		Rules: []config.Rule{{Match: `(?i)\bprice\b`, Text: "Here is the link, {{.FirstName}}!"}}}}
	e := webhooktest.Start(t, sb, pages, "test-app-secret-edit-audit20")

	change := func(verb, id string, u sandbox.User, at time.Time, msg string) string {
		return fmt.Sprintf(`{"field":"feed","value":{"item":"comment","verb":%q,"comment_id":%q,"post_id":%q,"parent_id":%q,`+
			`"from":{"id":%q,"name":%q},"created_time":%d,"message":%q}}`, verb, id, post, post, u.ID, u.Name, at.Unix(), msg)
	}
	deliver := func(changes ...string) {
		t.Helper()
		e.Deliver(t, fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":%d,"changes":[%s]}]}`, pg.ID, time.Now().UnixMilli(), strings.Join(changes, ",")))
	}
	check := func(stage string, want ...string) {
		t.Helper()
		slices.Sort(want)
		if got := e.Settled(t, len(want)); !slices.Equal(got, want) || sb.Duplicates() != 0 || sb.AlreadyRepliedCount() != 0 {
			t.Fatalf("%s: private replies sent to %v (%d duplicates, %d refused as already replied), want exactly %v",
				stage, got, sb.Duplicates(), sb.AlreadyRepliedCount(), want)
		}
	}

	// The three comments arrive: only Bo's matches the rule.
	deliver(change("add", anaC, ana, now, "so nice!"), change("add", boC, bo, now, "PRICE please"), change("add", cyC, cy, now, "looks great"))
	check("after the adds", boC)
	for _, id := range []string{anaC, cyC} { // their add's items are kept, completed
		if ti, err := e.Insp.GetTaskInfo(tasks.QueuePolls, "webhook:comment:"+id); err != nil || ti.State != asynq.TaskStateCompleted {
			t.Fatalf("add's item of %s: %v %v, want kept completed", id, ti, err)
		}
	}

	// (1) Ana edits hers to match: one reply. (2) Bo edits his answered
	// one: none more.
	edited := now.Add(30 * time.Second)
	sb.EditComment(anaC, "so nice! PRICE?")
	sb.EditComment(boC, "PRICE please, still waiting")
	deliver(change("edited", anaC, ana, edited, "so nice! PRICE?"), change("edited", boC, bo, edited, "PRICE please, still waiting"))
	check("after the edits", anaC, boC)

	// (3) Cy's edit, delivered twice in one delivery and again in a second
	// one (Meta's redelivery), as verb edit (Meta's other spelling): one
	// reply.
	sb.EditComment(cyC, "looks great, price?")
	cyEdit := change("edit", cyC, cy, edited, "looks great, price?")
	deliver(cyEdit, cyEdit)
	deliver(cyEdit)
	check("after Cy's edit delivered twice", anaC, boC, cyC)

	// Later edits of every one of them, and their redeliveries: nothing more.
	later := edited.Add(time.Minute)
	sb.EditComment(anaC, "PRICE!!")
	again := []string{change("edited", anaC, ana, later, "PRICE!!"), change("edited", boC, bo, later, "PRICE please, still waiting"), cyEdit}
	deliver(again...)
	deliver(again...)
	check("after later edits", anaC, boC, cyC)
	for _, id := range []string{anaC, boC, cyC} {
		if n := sb.SendCount(id); n != 1 {
			t.Fatalf("comment %s: %d sends, want 1", id, n)
		}
	}
}
