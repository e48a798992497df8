package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestReplyTextHoldingASecretRefused: a reply text given to the API or to
// pagereply enqueue that holds one of the configuration's secrets (the app
// secret, the webhook verify token, a Page's token) is refused, 400 naming
// text, exit 2 naming the secret's key, never its value: queued, it would
// sit in the task payload and the monitor, and reach the person it answers
// in Messenger (SPEC: secrets appear in no task payload or monitor page).
// The config refused such a default_text; the texts of the API and the CLI
// were queued as given.
func TestReplyTextHoldingASecretRefused(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	page := e.sb.Pages()[0]
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.db.Addr, DB: e.db.DB})
	t.Cleanup(func() { _ = insp.Close() })

	for i, secret := range []string{e2eVerifyToken, page.Token} {
		post := page.ID + "_9" + string(rune('0'+i))
		out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--post", post, "--text", "see "+secret+" here")
		if code != exitUsage || out != "" || !strings.Contains(errOut, "--text holds the value of") {
			t.Errorf("enqueue of a text holding secret %d: exit %d, %q %q; want exit 2 naming --text", i, code, out, errOut)
		}
		checkNoSecrets(t, e.secrets, map[string]string{"enqueue stderr": errOut})
		if _, err := insp.GetTaskInfo(tasks.QueueReplies, "post:"+post); err == nil {
			t.Errorf("enqueue queued a text holding secret %d", i)
		}
	}

	p := start(t, "api", "-c", e.cfgPath)
	e.waitHealthy(t, p)
	body := `{"page_id":"` + page.ID + `","post_id":"` + page.ID + `_80","text":"x ` + e2eAppSecret + `"}`
	a := e.call(t, "POST", "/v1/replies", strings.NewReader(body), bearer(e2eAPIToken))
	if a.status != http.StatusBadRequest || !strings.Contains(a.raw, `"field":"text"`) {
		t.Errorf("POST of a text holding the app secret: %d %.300s; want 400 naming text", a.status, a.raw)
	}
	if _, err := insp.GetTaskInfo(tasks.QueueReplies, "post:"+page.ID+"_80"); err == nil {
		t.Error("the API queued a text holding the app secret")
	}
	// An ordinary text still goes through.
	body = `{"page_id":"` + page.ID + `","post_id":"` + page.ID + `_81","text":"Thanks!"}`
	if a := e.call(t, "POST", "/v1/replies", strings.NewReader(body), bearer(e2eAPIToken)); a.status != http.StatusAccepted {
		t.Errorf("POST of an ordinary text: %d %.300s; want 202", a.status, a.raw)
	}
	stop(t, p)
	checkNoSecrets(t, e.secrets, map[string]string{"api answer": a.raw, "stderr": p.stderr.String()})
}
