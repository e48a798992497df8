package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// wantForGoodClass_audit21 checks that the archived reply id answers GET
// /v1/replies/{id} with error_class want, and a POST again for it (body;
// "" for none) with a 409 carrying the same, and that its ledger entry
// keeps want.
func wantForGoodClass_audit21(t *testing.T, e *env, id, body, want string) {
	t.Helper()
	st, m := e.do(t, http.MethodGet, "/v1/replies/"+id, testToken, "")
	if st != 200 || m["state"] != "archived" || m["error_class"] != want {
		t.Errorf("GET %d %v; want archived, error_class %s", st, m, want)
	}
	if body != "" {
		st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, body)
		if st != http.StatusConflict || m["state"] != "archived" || m["error_class"] != want {
			t.Errorf("POST again: %d %v; want 409 archived, error_class %s", st, m, want)
		}
	}
	kind, tid, _ := strings.Cut(id, ":")
	en, err := e.ledger.Get(context.Background(), e.page.ID, tasks.Target{Kind: tasks.Kind(kind), ID: tid})
	if err != nil || en.Status != tasks.StatusFailed || en.Class != want {
		t.Errorf("ledger entry %+v %v; want failed with class %s", en, err, want)
	}
}

// TestPageBrokenTakenAsReplysClass_audit21: a reply whose page-broken
// answers (here a 190) the worker takes as the reply's own, not the Page's
// (they kept coming while the Page's other replies were sent: the Page
// works), is archived with error_class "page_broken": Graph answered it
// with a Page-level refusal (token, permission, policy block) that only
// the Page's owner can explain, which "permanent" (a refusal about the
// person or the target, 10903, 10900, 100) did not tell a client.
func TestPageBrokenTakenAsReplysClass_audit21(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	c := e.sb.AllComments(e.page.ID)[0].ID
	target := tasks.Target{Kind: tasks.KindComment, ID: c}
	// Two earlier page-broken answers to this reply, each after another
	// reply of the Page was sent (what the worker's attempts would have
	// left): its next such answer is taken as the reply's.
	for i := range 2 {
		if _, err := e.ledger.CountBrokenAnswer(ctx, e.page.ID, target); err != nil {
			t.Fatal(err)
		}
		if err := e.ledger.MarkSentBySend(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: fmt.Sprintf("1_%d", 900+i)}, "m"); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.replyThrough(t, func(base worker.Graph) worker.Graph { return brokenGraph{base} }, func(*worker.Params) {}); got != c {
		t.Fatalf("reply queued for %s, want %s", got, c)
	}
	id := "comment:" + c
	waitArchived(t, e.opt, id)
	wantForGoodClass_audit21(t, e, id, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c), "page_broken")
	if d, _, err := e.ledger.Paused(ctx, e.page.ID); err != nil || d > 0 {
		t.Errorf("page paused (%s, %v) by an answer taken as the reply's", d, err)
	}
}

// convDoubt_audit21 queues, through the API, a reply to a new person's
// conversation and leaves its target as an attempt whose answer was lost
// leaves it (claimed, then marked unknown): the worker's next attempt
// checks the conversation before it sends. It returns the reply's id and
// its POST's body.
func convDoubt_audit21(t *testing.T, e *env, person sandbox.User) (id, body string) {
	t.Helper()
	ctx := context.Background()
	conv, mid := e.sb.AddMessage(e.page.ID, person, "do you ship to Spain?", time.Now().Add(-10*time.Minute))
	if conv == "" {
		t.Fatal("sandbox: conversation not made")
	}
	body = fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"Thanks for your message!"}`, e.page.ID, conv)
	if st, m := e.do(t, http.MethodPost, "/v1/replies", testToken, body); st != http.StatusAccepted || m["id"] != "message:"+mid {
		t.Fatalf("reply: %d %v; want 202 for message:%s", st, m, mid)
	}
	target := tasks.Target{Kind: tasks.KindMessage, ID: mid}
	if res, err := e.ledger.Reserve(ctx, e.page.ID, target, "t1", time.Minute, tasks.Limit{}); err != nil || res.Outcome != tasks.ReserveGo {
		t.Fatalf("reserve: %+v %v", res, err)
	}
	if err := e.ledger.MarkUnknown(ctx, e.page.ID, target, 0); err != nil {
		t.Fatal(err)
	}
	return "message:" + mid, body
}

// TestUnsettledConversationClass_audit21: a conversation reply whose
// earlier attempt's answer was lost, and whose conversation can no longer
// tell whether it landed (the person wrote more than a page since), is
// not sent again and archived with error_class "unsettled": the person
// may have it, so a client looks at the conversation before answering
// them another way. Before, it read "other", which said nothing a client
// could act on.
func TestUnsettledConversationClass_audit21(t *testing.T) {
	e := newEnv(t, nil)
	person := sandbox.User{ID: "99000021", Name: "Ana"}
	// A POST again is for the person's newest message, another target.
	id, _ := convDoubt_audit21(t, e, person)
	// The person writes on: the reply's message, and the earlier
	// attempt's reply if it landed, fall off the conversation's newest
	// page.
	for i := range 60 {
		if c, _ := e.sb.AddMessage(e.page.ID, person, fmt.Sprintf("hello? %d", i), time.Now().Add(-5*time.Minute)); c == "" {
			t.Fatal("sandbox: message not added")
		}
	}
	e.startWorker(t, func(g worker.Graph) worker.Graph { return g }, func(*worker.Params) {})
	waitArchived(t, e.opt, id)
	if n := e.sb.SendCount(person.ID); n != 0 {
		t.Errorf("%d messages sent to the person, want none (an earlier attempt may have got through)", n)
	}
	wantForGoodClass_audit21(t, e, id, "", tasks.ClassUnsettled)
}

// refusedConvGraph answers every conversation read with Graph's permanent
// 100 (no such object: the conversation deleted, or no longer the Page's).
type refusedConvGraph struct{ worker.Graph }

func (refusedConvGraph) Conversation(context.Context, string, string) (graph.Conversation, error) {
	return graph.Conversation{}, &graph.Error{HTTPStatus: 400, Code: 100, Class: graph.ClassPermanent, Endpoint: "object",
		Message: "Unsupported get request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation"}
}

// TestDoubtRefusedClass_audit21: a conversation reply whose earlier
// attempt's answer was lost, and whose check Graph refuses for good, is
// archived unsent as a reply that may have reached its person (the worker
// takes them as answered): error_class "unsettled", as when the
// conversation cannot tell, not "permanent", which says Graph refused the
// reply and nothing reached the person.
func TestDoubtRefusedClass_audit21(t *testing.T) {
	e := newEnv(t, nil)
	person := sandbox.User{ID: "99000022", Name: "Bo"}
	id, body := convDoubt_audit21(t, e, person)
	e.startWorker(t, func(g worker.Graph) worker.Graph { return refusedConvGraph{g} }, func(*worker.Params) {})
	waitArchived(t, e.opt, id)
	if n := e.sb.SendCount(person.ID); n != 0 {
		t.Errorf("%d messages sent to the person, want none", n)
	}
	wantForGoodClass_audit21(t, e, id, body, tasks.ClassUnsettled)
	st, m := e.do(t, http.MethodGet, "/v1/replies/"+id, testToken, "")
	if st != 200 || !strings.Contains(fmt.Sprint(m["last_error"]), "code 100") {
		t.Errorf("GET %d %v; want last_error with Graph's refusal", st, m)
	}
}

// TestOlderForGoodEntriesClass_audit21: entries an older version wrote
// keep reading right: an unsettled reply kept with class "other", or with
// no class at all, reads "unsettled" from its reason; a Page-level answer
// taken as the reply's, kept with its Graph text only, reads
// "page_broken".
func TestOlderForGoodEntriesClass_audit21(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	broken := "page-broken answer 3 to this reply, 2 of them after other replies of the Page were sent: taken as the reply's, not the Page's: " +
		(&graph.Error{HTTPStatus: 400, Code: 190, Class: graph.ClassPageBroken, Message: "Error validating access token"}).Error()
	for i, w := range []struct{ class, reason, want string }{
		{graph.FailureOther, tasks.UnsettledReason, tasks.ClassUnsettled},
		{"", tasks.UnsettledReason, tasks.ClassUnsettled},
		{"", broken, "page_broken"},
		{graph.FailureOther, "reply comment:1: something else", graph.FailureOther},
	} {
		if err := e.ledger.MarkFailedClass(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: cs[i].ID}, w.class, w.reason); err != nil {
			t.Fatal(err)
		}
		st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+cs[i].ID, testToken, "")
		if st != 200 || m["state"] != "archived" || m["error_class"] != w.want {
			t.Errorf("entry %d (%q, %q): GET %d %v; want archived, error_class %s", i, w.class, w.reason, st, m, w.want)
		}
	}
}
