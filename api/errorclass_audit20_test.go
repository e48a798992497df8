package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// refusingGraph answers every private reply with Graph's permanent 10903.
type refusingGraph struct {
	worker.Graph
	sends atomic.Int32
}

func (g *refusingGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	g.sends.Add(1)
	return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 10903, Class: graph.ClassPermanent, Message: "This person cannot receive messages"}
}

// waitArchived waits for the reply task id to be archived.
func waitArchived(t *testing.T, opt asynq.RedisClientOpt, id string) {
	t.Helper()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, id)
		if err == nil && ti.State == asynq.TaskStateArchived {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not archived: %+v %v", id, ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestArchivedReplyHasErrorClass_audit20: a reply a worker archived
// answers GET /v1/replies/{id} with error_class, one fixed word a client
// can act on: "transient" for a task whose retries ran out (asking again
// queues it, 202), "given_up" once its tasks ran out more than
// tasks.MaxReplacements times and the enqueue gave it up (asking again is
// a 409 that says so, with the same class), "permanent" for Graph's
// refusal for good. Before, the answer had last_error's text only, and the
// give-up's ledger entry had no class at all.
func TestArchivedReplyHasErrorClass_audit20(t *testing.T) {
	// As cmd/pagereply wires it: the enqueue replaces an archived task.
	e := newEnv(t, func(p *api.Params) { p.Enqueuer.Inspector = p.Inspector })
	var g *failingGraph
	c := e.replyThrough(t, func(base worker.Graph) worker.Graph {
		g = &failingGraph{Graph: base}
		return g
	}, func(p *worker.Params) {
		p.Concurrency, p.BackoffBase, p.BackoffMax = 2, 5*time.Millisecond, 20*time.Millisecond
	})
	id := "comment:" + c
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
	for run := 1; ; run++ {
		waitArchived(t, e.opt, id)
		st, m := e.do(t, http.MethodGet, "/v1/replies/"+id, testToken, "")
		if st != 200 || m["state"] != "archived" || m["error_class"] != "transient" {
			t.Fatalf("run %d: GET %d %v; want archived, error_class transient", run, st, m)
		}
		st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, body)
		if st == http.StatusAccepted {
			if run > tasks.MaxReplacements+1 {
				t.Fatalf("run %d: queued again past the give-up", run)
			}
			continue
		}
		if st != http.StatusConflict || m["state"] != "archived" || m["error_class"] != "given_up" ||
			!strings.Contains(errMessage(m), "given up") {
			t.Fatalf("run %d: POST %d %v; want 409 archived, error_class given_up", run, st, m)
		}
		break
	}
	st, m := e.do(t, http.MethodGet, "/v1/replies/"+id, testToken, "")
	if st != 200 || m["state"] != "archived" || m["error_class"] != "given_up" {
		t.Fatalf("given up: GET %d %v; want archived, error_class given_up", st, m)
	}
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, `{"replies":[`+body+`]}`)
	rs, _ := m["results"].([]any)
	if st != http.StatusMultiStatus || len(rs) != 1 || rs[0].(map[string]any)["error_class"] != "given_up" {
		t.Fatalf("batch: %d %v; want its 409 with error_class given_up", st, m)
	}
}

// TestRefusedReplyHasErrorClass_audit20: Graph's refusal for good reads
// error_class "permanent" in GET and in the 409 of a POST again.
func TestRefusedReplyHasErrorClass_audit20(t *testing.T) {
	e := newEnv(t, nil)
	c := e.replyThrough(t, func(base worker.Graph) worker.Graph { return &refusingGraph{Graph: base} },
		func(p *worker.Params) {})
	id := "comment:" + c
	waitArchived(t, e.opt, id)
	st, m := e.do(t, http.MethodGet, "/v1/replies/"+id, testToken, "")
	if st != 200 || m["state"] != "archived" || m["error_class"] != "permanent" {
		t.Fatalf("GET %d %v; want archived, error_class permanent", st, m)
	}
	st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c))
	if st != http.StatusConflict || m["error_class"] != "permanent" {
		t.Fatalf("POST again: %d %v; want 409, error_class permanent", st, m)
	}
}

// TestMarkedReplyHasErrorClass_audit20: a reply the Page's hide or a
// removal stopped, and an entry kept without a class by an older version
// (Graph's text only), read a class too, never text of the reason.
func TestMarkedReplyHasErrorClass_audit20(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Pages[0].SkipHidden = true })
	ctx := context.Background()
	cs := e.sb.AllComments(e.page.ID)
	if ok, err := e.ledger.MarkHidden(ctx, e.page.ID, cs[0].ID, time.Time{}); err != nil || !ok {
		t.Fatalf("hide mark: %v %v", ok, err)
	}
	if ok, err := e.ledger.MarkRemoved(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: cs[1].ID}); err != nil || !ok {
		t.Fatalf("remove mark: %v %v", ok, err)
	}
	old := (&graph.Error{HTTPStatus: 400, Code: 10903, Class: graph.ClassPermanent, Message: "This person cannot receive messages"}).Error()
	if err := e.ledger.MarkFailed(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: cs[2].ID}, old); err != nil {
		t.Fatal(err)
	}
	if err := e.ledger.MarkFailed(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: cs[3].ID}, "class secret-word here"); err != nil {
		t.Fatal(err)
	}
	// A give-up an older version kept without its class: the reason's start tells.
	if err := e.ledger.MarkFailed(ctx, e.page.ID, tasks.Target{Kind: tasks.KindComment, ID: cs[4].ID}, tasks.GivenUpReason+" 3 times (last error: code 2)"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"hidden", "removed", "permanent", "other", "given_up"} {
		st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+cs[i].ID, testToken, "")
		if st != 200 || m["state"] != "archived" || m["error_class"] != want {
			t.Errorf("comment %d: GET %d %v; want archived, error_class %s", i, st, m, want)
		}
	}
}

// brokenGraph answers every private reply with Graph's 190 (the Page's
// token expired): the worker pauses the Page and keeps its reply.
type brokenGraph struct{ worker.Graph }

func (brokenGraph) SendPrivateReply(context.Context, string, string, graph.Recipient, string) (graph.SendResult, error) {
	return graph.SendResult{}, &graph.Error{HTTPStatus: 400, Code: 190, Class: graph.ClassPageBroken, Message: "Error validating access token: Session has expired"}
}

// TestHeldReplyHasErrorClass_audit20: a reply held because its Page is
// broken (a 190 on its send: the Page paused, its reply kept and tried
// again after the pause) answers GET with error_class "page_broken" while
// it waits, so a client can tell the Page's owner instead of waiting on
// it; before, the class was only in last_error's text.
func TestHeldReplyHasErrorClass_audit20(t *testing.T) {
	e := newEnv(t, nil)
	c := e.replyThrough(t, func(base worker.Graph) worker.Graph { return brokenGraph{base} }, func(p *worker.Params) {})
	id := "comment:" + c
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, m := e.do(t, http.MethodGet, "/v1/replies/"+id, testToken, "")
		if st == 200 && m["last_error"] != nil && m["state"] != "active" {
			if m["error_class"] != "page_broken" || m["state"] == "archived" {
				t.Fatalf("GET %d %v; want it held, error_class page_broken", st, m)
			}
			st, m = e.do(t, http.MethodPost, "/v1/replies", testToken, fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c))
			if st != http.StatusConflict || m["error_class"] != "page_broken" {
				t.Fatalf("POST again: %d %v; want 409 with error_class page_broken", st, m)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reply not held: %d %v", st, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
