package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

const (
	whAppSecret   = "test-app-secret-0123456789"
	whVerifyToken = "test-verify-token-abcdef"
)

// webhookEnv is a real Redis, the sandbox over loopback, the webhook behind
// httptest, and (when started) a worker with the poll handler.
type webhookEnv struct {
	db    *redistest.DB
	opt   asynq.RedisClientOpt
	sb    *sandbox.Sandbox
	gsrv  *httptest.Server
	srv   *httptest.Server
	pages []config.Page
	led   *tasks.Ledger
	enq   *tasks.Enqueuer
	logs  *proctest.Buffer
}

func newWebhookEnv(t *testing.T) *webhookEnv {
	t.Helper()
	e := &webhookEnv{db: redistest.New(t), sb: sandbox.New(sandbox.Options{Pages: 2, Seed: 4}), logs: &proctest.Buffer{}}
	e.opt = asynq.RedisClientOpt{Addr: e.db.Addr, DB: e.db.DB}
	e.gsrv = httptest.NewServer(e.sb)
	t.Cleanup(e.gsrv.Close)
	client := asynq.NewClient(e.opt)
	t.Cleanup(func() { _ = client.Close() })
	e.led = tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	e.enq = &tasks.Enqueuer{Client: client, Ledger: e.led, MaxRetry: 3}
	for _, p := range e.sb.Pages() {
		e.pages = append(e.pages, config.Page{ID: p.ID, AccessToken: p.Token, Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 1,
			ReplyTo: []string{config.ReplyComments, config.ReplyPosts}, MaxAge: 168 * time.Hour, DefaultText: "Thanks, {{.FirstName}}!"})
	}
	log := slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv = httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: e.enq, Pages: e.pages, Logger: log,
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// serveMarking serves the webhook again with the ledger's marks (hides,
// removes) on, over a copy of the env's Pages that edit changes, logging at
// debug into the returned buffer: the Pages it serves and the buffer.
func (e *webhookEnv) serveMarking(t *testing.T, edit func(pages []config.Page)) ([]config.Page, *proctest.Buffer) {
	t.Helper()
	pages := append([]config.Page(nil), e.pages...)
	edit(pages)
	logs := &proctest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.srv = httptest.NewServer(api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: e.enq,
		Hidden: e.led, Pages: pages, Logger: log}))
	t.Cleanup(e.srv.Close)
	return pages, logs
}

func (e *webhookEnv) startWorker(t *testing.T) {
	t.Helper()
	g := graph.New(graph.Config{BaseURL: e.gsrv.URL, Timeout: 2 * time.Second})
	ledger := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{Batch: true})
	t.Cleanup(ledger.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w := worker.New(worker.Params{
		Redis: e.opt, Ledger: ledger, Enqueuer: e.enq, Graph: g, Pages: e.pages, Concurrency: 5, Logger: log,
		ShutdownTimeout: 2 * time.Second,
		Poll:            worker.NewPollHandler(worker.PollParams{Graph: g, Ledger: ledger, Enqueuer: e.enq, Pages: e.pages, Logger: log}),
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
}

func sign(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (e *webhookEnv) post(t *testing.T, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// queued returns the number of tasks in the polls queue, any state.
func (e *webhookEnv) queued(t *testing.T) int {
	t.Helper()
	info, err := asynq.NewInspector(e.opt).GetQueueInfo(tasks.QueuePolls)
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "not found") || strings.Contains(err.Error(), "does not exist") {
			return 0
		}
		t.Fatal(err)
	}
	return info.Size + info.Completed
}

func commentChange(page, post, comment, from, verb string) string {
	return fmt.Sprintf(`{"field":"feed","value":{"item":"comment","verb":%q,"comment_id":%q,"post_id":%q,"parent_id":%q,`+
		`"from":{"id":%q,"name":"Ana Lopez"},"message":"hello","created_time":%d}}`, verb, comment, post, post, from, time.Now().Unix())
}

// TestWebhookHandshake: the right token answers exactly the challenge as
// text/plain; a wrong or missing token 403 whatever else the query holds;
// with the right token, a mode other than subscribe or no challenge is a 400
// in the API's error shape naming the parameter (an empty answer would leave
// Meta's subscription failing without saying why).
func TestWebhookHandshake(t *testing.T) {
	e := newWebhookEnv(t)
	const challenge = "1158201444"
	tests := []struct {
		name  string
		query url.Values
		want  int
		field string // the error's field, for a 400
	}{
		{"subscribe with the token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whVerifyToken}, "hub.challenge": {challenge}}, http.StatusOK, ""},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"nope"}, "hub.challenge": {challenge}}, http.StatusForbidden, ""},
		{"empty token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {""}, "hub.challenge": {challenge}}, http.StatusForbidden, ""},
		{"no token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {challenge}}, http.StatusForbidden, ""},
		{"wrong token, wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {"nope"}, "hub.challenge": {challenge}}, http.StatusForbidden, ""},
		{"wrong token, no challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"nope"}}, http.StatusForbidden, ""},
		{"no challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whVerifyToken}}, http.StatusBadRequest, "hub.challenge"},
		{"empty challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whVerifyToken}, "hub.challenge": {""}}, http.StatusBadRequest, "hub.challenge"},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {whVerifyToken}, "hub.challenge": {challenge}}, http.StatusBadRequest, "hub.mode"},
		{"no mode", url.Values{"hub.verify_token": {whVerifyToken}, "hub.challenge": {challenge}}, http.StatusBadRequest, "hub.mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(e.srv.URL + "/webhook?" + tt.query.Encode())
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, b, tt.want)
			}
			switch tt.want {
			case http.StatusOK:
				if string(b) != challenge || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
					t.Fatalf("body %q type %q: want exactly the challenge as text/plain", b, resp.Header.Get("Content-Type"))
				}
			case http.StatusBadRequest:
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil || resp.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("answer %q (%s) is not the API's JSON error: %v", b, resp.Header.Get("Content-Type"), err)
				}
				if got := errField(m); got != tt.field {
					t.Fatalf("error field %q (%q), want %q", got, b, tt.field)
				}
				if msg := errMessage(m); !strings.Contains(msg, tt.field) {
					t.Fatalf("error message %q does not name %s", msg, tt.field)
				}
			}
			if strings.Contains(string(b), whVerifyToken) {
				t.Fatalf("the answer %q holds the verify token", b)
			}
		})
	}
	if strings.Contains(e.logs.String(), whVerifyToken) {
		t.Fatal("the verify token reached the log")
	}
}

func TestWebhookRefusals(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	post := e.sb.AddPost(page, sandbox.User{}, "A post", time.Now().Add(-time.Hour))
	c := e.sb.AddComment(post, sandbox.User{ID: "100000000000077", Name: "Ana Lopez"}, "hello", time.Now())
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` + commentChange(page, post, c, "100000000000077", "add") + `]}]}`
	signed := func(b string) map[string]string {
		return map[string]string{"X-Hub-Signature-256": sign(whAppSecret, b)}
	}
	const notDelivery = "body is not a Meta webhook delivery: "
	long := strings.Repeat("9", 400)
	tests := []struct {
		name   string
		body   string
		header map[string]string
		want   int
		msg    string // the error message, exactly, when not empty
	}{
		{"no signature", body, nil, http.StatusUnauthorized, ""},
		{"wrong secret", body, map[string]string{"X-Hub-Signature-256": sign("other", body)}, http.StatusUnauthorized, ""},
		{"signature of another body", body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body+" ")}, http.StatusUnauthorized, ""},
		{"not hex", body, map[string]string{"X-Hub-Signature-256": "sha256=zz"}, http.StatusUnauthorized, ""},
		{"sha1 header only", body, map[string]string{"X-Hub-Signature": "sha1=0123"}, http.StatusUnauthorized, ""},
		{"signed invalid JSON", `{"object":`, signed(`{"object":`), http.StatusBadRequest, "body is not valid JSON"},
		{"signed trailing garbage", `{"object":"page"}x`, signed(`{"object":"page"}x`), http.StatusBadRequest, "body is not valid JSON"},
		{"entry an object", `{"object":"page","entry":{}}`, signed(`{"object":"page","entry":{}}`), http.StatusBadRequest,
			notDelivery + "entry: want an array, got object"},
		{"changes a string", `{"object":"page","entry":[{"changes":"x"}]}`, signed(`{"object":"page","entry":[{"changes":"x"}]}`), http.StatusBadRequest,
			notDelivery + "entry.changes: want an array, got string"},
		{"body an array", `[1,2]`, signed(`[1,2]`), http.StatusBadRequest, notDelivery + "want an object, got array"},
		{"object a long number", `{"object":` + long + `}`, signed(`{"object":` + long + `}`), http.StatusBadRequest,
			notDelivery + "object: want a string, got number"},
		{"too large", strings.Repeat(" ", api.DefaultWebhookMaxBody+1), nil, http.StatusRequestEntityTooLarge, ""},
		// Meta's deliveries always hold object and entry: a signed body
		// without them is no delivery, and its sender is told so.
		{"empty object", `{}`, signed(`{}`), http.StatusBadRequest, notDelivery + "object is required"},
		{"null", `null`, signed(`null`), http.StatusBadRequest, notDelivery + "object is required"},
		{"no object", `{"entry":[]}`, signed(`{"entry":[]}`), http.StatusBadRequest, notDelivery + "object is required"},
		{"object null", `{"object":null,"entry":[]}`, signed(`{"object":null,"entry":[]}`), http.StatusBadRequest, notDelivery + "object is required"},
		{"object empty", `{"object":"","entry":[]}`, signed(`{"object":"","entry":[]}`), http.StatusBadRequest, notDelivery + "object is required"},
		{"page without entry", `{"object":"page"}`, signed(`{"object":"page"}`), http.StatusBadRequest, notDelivery + "entry is required"},
		{"page with entry null", `{"object":"page","entry":null}`, signed(`{"object":"page","entry":null}`), http.StatusBadRequest, notDelivery + "entry is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, b := e.post(t, tt.body, tt.header)
			if code != tt.want {
				t.Fatalf("status %d (%s), want %d", code, b, tt.want)
			}
			if tt.msg != "" {
				var m map[string]any
				if err := json.Unmarshal([]byte(b), &m); err != nil {
					t.Fatalf("answer %q is not JSON: %v", b, err)
				}
				if got := errMessage(m); got != tt.msg {
					t.Fatalf("message %q, want %q", got, tt.msg)
				}
				if field, _, _ := strings.Cut(strings.TrimPrefix(tt.msg, notDelivery), " "); strings.HasPrefix(tt.msg, notDelivery) &&
					(field == "object" || field == "entry") && errField(m) != field {
					t.Fatalf("field %q, want %q", errField(m), field)
				}
			}
			if n := e.queued(t); n != 0 {
				t.Fatalf("%d tasks queued after a refused delivery", n)
			}
		})
	}
	if strings.Contains(e.logs.String(), whAppSecret) {
		t.Fatal("the app secret reached the log")
	}
}

// TestWebhookIgnored: what SPEC says to ignore is answered 200 and queues
// nothing, and a debug line says why, without the body's content. A delivery
// of another object (Instagram's, from an app shared with it) is ignored
// whatever its entries hold.
func TestWebhookIgnored(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	const private = "a-private-message-0xA11CE" // content that must stay out of the log
	tests := []struct{ name, body, log string }{
		{"not a page", `{"object":"user","entry":[]}`, `object=user`},
		{"instagram", `{"object":"instagram","entry":[{"id":"17841400000000000","time":1,"changes":[{"field":"comments","value":{"id":"1","text":"` + private + `"}}]}]}`, `object=instagram`},
		{"another object without entry", `{"object":"permissions"}`, `object=permissions`},
		{"another object of another shape", `{"object":"whatsapp_business_account","entry":{"x":"` + private + `"}}`, `object=whatsapp_business_account`},
		{"unknown page", `{"object":"page","entry":[{"id":"999","changes":[` + commentChange("999", "999_1", "1_2", "5", "add") + `]}]}`, `why="unknown page"`},
		{"post edited", `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"feed","value":{"item":"post","verb":"edited","post_id":"` + page + `_1","from":{"id":"5"}}}]}]}`, `why="verb edited"`},
		{"own comment", `{"object":"page","entry":[{"id":"` + page + `","changes":[` + commentChange(page, page+"_1", "1_2", page, "add") + `]}]}`, `why="the page's own"`},
		{"reaction", `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"feed","value":{"item":"reaction","verb":"add","reaction_type":"like","from":{"id":5}}}]}]}`, `why="item reaction"`},
		{"other field", `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"mention","value":{"item":"comment","verb":"add"}}]}]}`, `why="field mention"`},
		{"value a string", `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"feed","value":"comment"}]}]}`, `msg="webhook change ignored"`},
		{"value a list", `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"feed","value":[1,2]}]}]}`, `msg="webhook change ignored"`},
		{"no entries", `{"object":"page","entry":[]}`, `queued=0 already_queued=0 ignored=0`},
		{"messenger event", `{"object":"page","entry":[{"id":"` + page + `","time":1,"messaging":[{"sender":{"id":"7001"},"recipient":{"id":"` + page + `"},"timestamp":1,"message":{"mid":"m_1","text":"` + private + `"}}]}]}`, `msg="webhook messaging events ignored: conversations are answered by the poll"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.logs.String())
			if code, b := e.post(t, tt.body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, tt.body)}); code != http.StatusOK {
				t.Fatalf("status %d (%s), want 200", code, b)
			}
			if n := e.queued(t); n != 0 {
				t.Fatalf("%d tasks queued for an ignored change", n)
			}
			logged := e.logs.String()[before:]
			if !strings.Contains(logged, "level=DEBUG") || !strings.Contains(logged, tt.log) {
				t.Fatalf("no debug line with %s; the log:\n%s", tt.log, logged)
			}
		})
	}
	if strings.Contains(e.logs.String(), private) {
		t.Fatalf("a body's content reached the log:\n%s", e.logs.String())
	}
}

// TestWebhookVisitorPostItems: a visitor's post arrives under the item of
// what it holds (post, status, photo, video, share, link); each is queued
// for the worker to read.
func TestWebhookVisitorPostItems(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	for i, item := range []string{"post", "status", "photo", "video", "share", "link"} {
		body := `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"feed","value":{"item":"` + item +
			`","verb":"add","post_id":"` + page + `_90` + strconv.Itoa(i) + `","from":{"id":"100000000000055"},"created_time":1}}]}]}`
		if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("%s: status %d (%s), want 200", item, code, b)
		}
		if n := e.queued(t); n != i+1 {
			t.Fatalf("%s: %d tasks queued, want %d", item, n, i+1)
		}
	}
}

// TestWebhookOddChangeKeepsOthers: a change whose value is not an object
// does not refuse its delivery: the delivery's other changes are queued.
func TestWebhookOddChangeKeepsOthers(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	body := `{"object":"page","entry":[{"id":"` + page + `","changes":[{"field":"feed","value":"comment"},` +
		commentChange(page, page+"_1", "1_2", "5", "add") + `]}]}`
	if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", code, b)
	}
	if n := e.queued(t); n != 1 {
		t.Fatalf("%d tasks queued, want 1 (the comment)", n)
	}
}

// TestWebhookDelivery: a signed delivery of two comments (one the Page's own)
// and a visitor's post, sent twice, gets one reply per eligible item within
// a second, with the worker reading each item from Graph.
func TestWebhookDelivery(t *testing.T) {
	e := newWebhookEnv(t)
	e.startWorker(t)
	page := e.pages[0].ID
	post := e.sb.AddPost(page, sandbox.User{}, "A post", time.Now().Add(-time.Hour))
	visitor := sandbox.User{ID: "100000000000088", Name: "Ben Smith"}
	c1 := e.sb.AddComment(post, sandbox.User{ID: "100000000000077", Name: "Ana Lopez"}, "hello", time.Now())
	c2 := e.sb.AddComment(post, sandbox.User{ID: "100000000000099", Name: "Cleo Ray"}, "no thanks", time.Now())
	e.sb.SetCanReplyPrivately(c2, false) // only Graph knows: the payload never says
	vpost := e.sb.AddPost(page, visitor, "Do you ship?", time.Now())
	body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` +
		commentChange(page, post, c1, "100000000000077", "add") + `,` +
		commentChange(page, post, c2, "100000000000099", "add") + `,` +
		`{"field":"feed","value":{"item":"post","verb":"add","post_id":"` + vpost + `","from":{"id":"` + visitor.ID + `"},"message":"Do you ship?","created_time":1}}` +
		`]}]}`
	start := time.Now()
	for range 2 {
		if code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusOK {
			t.Fatalf("status %d (%s), want 200", code, b)
		}
	}
	answered := time.Since(start)
	deadline := time.Now().Add(5 * time.Second)
	for (e.sb.SendCount(c1) == 0 || e.sb.SendCount(vpost) == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(start)
	if e.sb.SendCount(c1) != 1 || e.sb.SendCount(vpost) != 1 {
		t.Fatalf("sends: comment %d, visitor post %d; want 1 each", e.sb.SendCount(c1), e.sb.SendCount(vpost))
	}
	// Issue 4's check: one reply within a second of the delivery.
	if took > time.Second {
		t.Errorf("replies took %s after delivery, want within a second", took)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(e.sb.Sends()); n != 2 || e.sb.SendCount(c2) != 0 {
		t.Fatalf("%d sends (comment that cannot be replied to: %d), want 2", n, e.sb.SendCount(c2))
	}
	for _, s := range e.sb.Sends() {
		if s.Target == c1 && s.Text != "Thanks, Ana!" || s.Target == vpost && s.Text != "Thanks, Ben!" {
			t.Errorf("send to %s: text %q", s.Target, s.Text)
		}
	}
	t.Logf("two deliveries answered in %s; replies sent %s after the first", answered.Round(time.Millisecond), took.Round(time.Millisecond))
}

// failingIntake queues through next, except the item whose id is fail: that
// one fails as when Redis is out of reach.
type failingIntake struct {
	next api.WebhookIntake
	fail string
}

func (f failingIntake) EnqueueWebhookItem(ctx context.Context, it tasks.WebhookItem) (tasks.Outcome, error) {
	if it.ID == f.fail {
		return "", fmt.Errorf("redis: connection refused")
	}
	return f.next.EnqueueWebhookItem(ctx, it)
}

// TestWebhookDeliveryMetrics: the API's /metrics counts every POST /webhook
// by outcome, each outcome shown at 0 before any delivery: accepted (a change
// queued), ignored (answered 200, nothing queued), bad_signature, bad_body,
// too_large and error (not queued, 503).
func TestWebhookDeliveryMetrics(t *testing.T) {
	const failID = "1_999"
	e := newEnv(t, func(p *api.Params) {
		p.Metrics = metrics.New()
		p.Webhook = api.NewWebhook(api.WebhookParams{
			VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: failingIntake{p.Enqueuer, failID},
			Pages: p.Pages, Logger: p.Logger, Metrics: p.Metrics, MaxBody: 4 << 10,
		})
	})
	outcomes := []string{"accepted", "ignored", "bad_signature", "bad_body", "too_large", "error"}
	scrape := func() map[string]string {
		t.Helper()
		resp, err := http.Get(e.url + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		got := map[string]string{}
		for _, l := range strings.Split(string(b), "\n") {
			series, value, ok := strings.Cut(l, " ")
			labels, found := strings.CutPrefix(series, "pagereply_webhook_deliveries_total")
			if !ok || !found {
				continue
			}
			outcome, ok := strings.CutPrefix(labels, `{outcome="`)
			if !ok || !strings.HasSuffix(outcome, `"}`) {
				t.Fatalf("pagereply_webhook_deliveries_total sample with labels other than outcome: %s", l)
			}
			got[strings.TrimSuffix(outcome, `"}`)] = value
		}
		if !strings.Contains(string(b), "# TYPE pagereply_webhook_deliveries_total counter") {
			t.Fatalf("no pagereply_webhook_deliveries_total counter in /metrics:\n%s", grepLines(string(b), "webhook"))
		}
		return got
	}
	want := func(exp map[string]int) {
		t.Helper()
		got := scrape()
		w := map[string]string{}
		for _, o := range outcomes {
			w[o] = strconv.Itoa(exp[o])
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Fatalf("pagereply_webhook_deliveries_total by outcome %v, want %v", got, w)
		}
	}
	post := func(body string, signed bool, status int) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.url+"/webhook", strings.NewReader(body))
		if signed {
			req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			t.Fatalf("POST /webhook %.60q: %d (%s), want %d", body, resp.StatusCode, b, status)
		}
	}
	page := e.page.ID
	delivery := func(changes ...string) string {
		return `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[` + strings.Join(changes, ",") + `]}]}`
	}
	comment := delivery(commentChange(page, page+"_1", page+"_1_2", "100000000000077", "add"))

	want(nil) // every outcome at 0 before any delivery
	post(comment, true, http.StatusOK)
	post(comment, true, http.StatusOK) // a redelivery: its item deduplicated, still accepted
	post(delivery(`{"field":"feed","value":{"item":"status","verb":"edited","post_id":"`+page+`_3","from":{"id":"100000000000077"}}}`, commentChange(page, page+"_1", "1_4", page, "add")), true, http.StatusOK)
	post(`{"object":"instagram","entry":[]}`, true, http.StatusOK)
	post(`{"object":"page","entry":[]}`, true, http.StatusOK)
	post(comment, false, http.StatusUnauthorized)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/webhook", strings.NewReader(comment))
	req.Header.Set("X-Hub-Signature-256", sign("another-app-secret", comment))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	post(`{"object":`, true, http.StatusBadRequest)
	post(`{"entry":[]}`, true, http.StatusBadRequest)
	post(`{"object":"page","entry":{}}`, true, http.StatusBadRequest)
	post(strings.Repeat(" ", 8<<10), true, http.StatusRequestEntityTooLarge)
	post(delivery(commentChange(page, page+"_1", failID, "100000000000077", "add")), true, http.StatusServiceUnavailable)
	want(map[string]int{"accepted": 2, "ignored": 3, "bad_signature": 2, "bad_body": 3, "too_large": 1, "error": 1})

	// The handshake and a wrong method are no deliveries.
	resp, err := http.Get(e.url + "/webhook?" + url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whVerifyToken}, "hub.challenge": {"7"}}.Encode())
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	resp.Body.Close()
	e.do(t, http.MethodPut, "/webhook", "", "{}")
	want(map[string]int{"accepted": 2, "ignored": 3, "bad_signature": 2, "bad_body": 3, "too_large": 1, "error": 1})
}

// stuckIntake queues nothing: each call waits until its context ends, as
// with a Redis that stopped answering.
type stuckIntake struct{}

func (stuckIntake) EnqueueWebhookItem(ctx context.Context, it tasks.WebhookItem) (tasks.Outcome, error) {
	<-ctx.Done()
	return "", fmt.Errorf("enqueue webhook item %s: %w", it.TaskID(), ctx.Err())
}

// TestWebhookDeliveryDeadline: a delivery whose items cannot be queued in
// time (a Redis that does not answer) is answered 503 at the deadline,
// however many items it holds; Meta redelivers it.
func TestWebhookDeliveryDeadline(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: stuckIntake{}, Pages: e.pages,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Deadline: 300 * time.Millisecond,
	}))
	t.Cleanup(srv.Close)
	var changes []string
	for i := range 5 {
		changes = append(changes, commentChange(page, page+"_1", fmt.Sprintf("1_%d", i+2), "5", "add"))
	}
	body := `{"object":"page","entry":[{"id":"` + page + `","changes":[` + strings.Join(changes, ",") + `]}]}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhook", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second) // Meta's wait, shortened
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
}
