package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// usageWriter replaces the sandbox's X-Business-Use-Case-Usage with v on
// every answer, as Graph sends it when the Page is at its limit.
type usageWriter struct {
	http.ResponseWriter
	v     string
	wrote bool
}

func (u *usageWriter) WriteHeader(code int) {
	if !u.wrote {
		u.wrote = true
		u.Header().Set("X-Business-Use-Case-Usage", u.v)
	}
	u.ResponseWriter.WriteHeader(code)
}

func (u *usageWriter) Write(b []byte) (int, error) {
	if !u.wrote {
		u.WriteHeader(http.StatusOK)
	}
	return u.ResponseWriter.Write(b)
}

// atLimitServer is the sandbox behind a proxy that says, on every answer,
// that page is at 100 % of its business use case usage and regains access in
// 30 minutes.
func atLimitServer(t *testing.T, h *harness, page string) *httptest.Server {
	t.Helper()
	buc := `{"` + page + `":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":30}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.sb.ServeHTTP(&usageWriter{ResponseWriter: w, v: buc}, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestGoneItemHonoursRegainTime: a webhook item whose comment was deleted is
// read while Graph says (X-Business-Use-Case-Usage at 100 %, regain in 30
// minutes) the Page must stop. The answer's throttle comes first: the Page
// is paused that long, and the next items read nothing.
func TestGoneItemHonoursRegainTime(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 79})
	pages := pollPages(h)
	page := pages[0].ID
	srv := atLimitServer(t, h, page)
	p := h.pollParams(pages)
	// As cmd/pagereply wires it: the Observer pauses on usage headers.
	p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second,
		Observer: worker.GraphObserver(h.ledger, metrics.New(), testLogger())})
	pl := worker.NewPoller(p)
	ctx := context.Background()
	item := func(id string) error {
		payload, err := json.Marshal(tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: id, ReceivedAt: time.Now().UnixMilli()})
		if err != nil {
			t.Fatal(err)
		}
		return pl.ProcessTask(ctx, asynq.NewTask(tasks.TypeWebhookItem, payload))
	}
	before := h.sb.Calls()[sandbox.EndpointObject]
	for i := 0; i < 3; i++ { // three deliveries of deleted comments
		_ = item(page + "_199999999999999" + string(rune('0'+i)))
	}
	reads := h.sb.Calls()[sandbox.EndpointObject] - before
	d, reason, err := h.ledger.Paused(ctx, page)
	if err != nil {
		t.Fatal(err)
	}
	if d < 25*time.Minute {
		t.Errorf("Graph said the Page regains access in 30 minutes, but it is paused for %s (%q)", d, reason)
	}
	if reads > 1 {
		t.Errorf("%d Graph reads for the Page after Graph said to stop for 30 minutes, want 1", reads)
	}
}

// TestPostDoubtHonoursRegainTime: a doubtful visitor post reply's check is
// refused (code 100, no private_reply_conversation on posts) by an answer
// that also says the Page regains access in 30 minutes: the reply is not
// sent again now, and the Page is paused.
func TestPostDoubtHonoursRegainTime(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 81})
	page := h.pages[0].ID
	post := h.sb.AddPost(page, sandbox.User{ID: "5100001", Name: "Visitor"}, "Do you ship?", time.Now().Add(-time.Minute))
	r := tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindPost, ID: post}, Text: "We do!", Source: tasks.SourcePoll}
	h.lostAnswer(t, r)
	srv := atLimitServer(t, h, page)
	h.startWorkerOn(t, h.opt, 2, func(p *worker.Params) {
		p.Graph = graph.New(graph.Config{BaseURL: srv.URL, Timeout: 2 * time.Second,
			Observer: worker.GraphObserver(h.ledger, metrics.New(), testLogger())})
	})
	ctx := context.Background()
	if _, _, err := h.enq.Enqueue(ctx, r); err != nil {
		t.Fatal(err)
	}
	h.waitPutBack(t, r, 10*time.Second, nil)
	if n := h.sb.SendCount(post); n != 0 {
		t.Errorf("%d send(s) right after Graph said the Page regains access in 30 minutes", n)
	}
	if d, _, err := h.ledger.Paused(ctx, page); err != nil || d < 25*time.Minute {
		t.Errorf("Page paused for %s (%v), want about 30 minutes", d, err)
	}
}

// TestConversationReadsTwoPerSecond: Meta allows 2 conversation calls a
// second per Page; the conversation read schedule never books 3 within one.
func TestConversationReadsTwoPerSecond(t *testing.T) {
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	page := &config.Page{ID: "1983306698425200", Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}
	lim := worker.ConversationReadLimit(page)
	ctx := context.Background()
	start := time.Now()
	var at []time.Duration
	for i := 0; i < 6; i++ {
		wait, err := l.TakeReadKey(ctx, page.ID, "reads:conversations", lim)
		if err != nil {
			t.Fatal(err)
		}
		at = append(at, time.Since(start)+wait)
	}
	sort.Slice(at, func(i, j int) bool { return at[i] < at[j] })
	for i := 0; i+2 < len(at); i++ {
		if at[i+2]-at[i] < time.Second {
			t.Fatalf("reads %d..%d booked within %s (%v): 3 conversation calls in one second", i, i+2, at[i+2]-at[i], at)
		}
	}
}

// TestPolicyBlockPause: code 368 (blocked for acting against Meta's
// policies, 1390008: too fast) pauses the Page an hour as policy_block, two
// when the first calls after it are refused again; a new token does not
// lift it (it is not the token's fault).
func TestPolicyBlockPause(t *testing.T) {
	db := redistest.New(t)
	page := "1983306698425200"
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: []string{page}, PageTokens: map[string]string{page: "token-A"}})
	ctx := context.Background()
	block := &graph.Error{Code: 368, Subcode: 1390008, Class: graph.ClassPageBroken, Endpoint: graph.EndpointMessages,
		Message: "(#368) The action attempted has been deemed abusive or is otherwise disallowed"}
	if d := worker.PauseForError(l, metrics.New(), page, block, testLogger()); d != time.Hour {
		t.Fatalf("first pause %s, want 1h", d)
	}
	if _, reason, err := l.Paused(ctx, page); err != nil || tasks.PauseKind(reason) != tasks.PausePolicyBlock {
		t.Fatalf("pause %q (%v), want a policy_block", reason, err)
	}
	// The hour passes (the pause runs out) and the first call is refused again.
	if err := l.Resume(ctx, page); err != nil {
		t.Fatal(err)
	}
	if d := worker.PauseForError(l, metrics.New(), page, block, testLogger()); d != 2*time.Hour {
		t.Fatalf("pause after the block went on: %s, want 2h", d)
	}
	// The operator puts in a new token, as for a broken Page, and restarts.
	l2 := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: []string{page}, PageTokens: map[string]string{page: "token-B"}})
	if reason, err := l2.LiftStaleBrokenPause(ctx, page); err != nil || reason != "" {
		t.Fatalf("a new token lifted the policy block's pause (%q, %v)", reason, err)
	}
	if d, _, err := l.Paused(ctx, page); err != nil || d < time.Hour {
		t.Fatalf("paused for %s (%v) after the new token, want the block's 2h", d, err)
	}
}

// TestThrottleWithoutTimeDoubles: a Page throttle that gives no time pauses
// a minute, then twice as long each time the first calls after a pause are
// refused again; one with Graph's time keeps to it.
func TestThrottleWithoutTimeDoubles(t *testing.T) {
	db := redistest.New(t)
	page := "1983306698425200"
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	ctx := context.Background()
	limit := &graph.Error{Code: 32, Class: graph.ClassThrottled, Endpoint: graph.EndpointMessages, Message: "(#32) Page request limit reached"}
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if d := worker.PauseForError(l, metrics.New(), page, limit, testLogger()); d != want {
			t.Fatalf("pause %s, want %s", d, want)
		}
		if err := l.Resume(ctx, page); err != nil {
			t.Fatal(err)
		}
	}
	timed := &graph.Error{Code: 32, Class: graph.ClassThrottled, Endpoint: graph.EndpointMessages, Message: "(#32) Page request limit reached", RetryAfter: 3 * time.Minute}
	if d := worker.PauseForError(l, metrics.New(), page, timed, testLogger()); d != 3*time.Minute {
		t.Fatalf("pause with Graph's 3m: %s", d)
	}
}

// TestAppThrottleSpreadsPauses: code 4 (the app at its limit) pauses every
// Page of the app, each a little longer than the last, so that they do not
// all call Graph again in the same instant when the pause ends.
func TestAppThrottleSpreadsPauses(t *testing.T) {
	db := redistest.New(t)
	var pages []string
	for i := range 12 {
		pages = append(pages, fmt.Sprintf("19833066984252%02d", i))
	}
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: pages})
	ctx := context.Background()
	appLimit := &graph.Error{Code: 4, Class: graph.ClassThrottled, HTTPStatus: 403, Endpoint: graph.EndpointMessages, Message: "(#4) Application request limit reached"}
	worker.PauseForError(l, metrics.New(), pages[0], appLimit, testLogger())
	ends := map[time.Duration]bool{}
	for _, p := range pages[1:] {
		d, reason, err := l.Paused(ctx, p)
		if err != nil || tasks.PauseKind(reason) != tasks.PauseThrottled {
			t.Fatalf("page %s: paused %s (%q, %v), want throttled", p, d, reason, err)
		}
		if d < 55*time.Second || d > 91*time.Second {
			t.Errorf("page %s paused %s, want 1m to 1m30s", p, d)
		}
		ends[d.Round(time.Second)] = true
	}
	if len(ends) < 4 {
		t.Errorf("the app's %d other Pages resume at only %d different seconds: %v", len(pages)-1, len(ends), ends)
	}
}

// TestAppThrottleEscalates: while the app stays at its limit, each pause of
// its Pages is longer than the last, whichever Page's call is refused.
func TestAppThrottleEscalates(t *testing.T) {
	db := redistest.New(t)
	pages := []string{"1001", "1002", "1003"}
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{AppPages: pages})
	ctx := context.Background()
	refused := &graph.Error{HTTPStatus: 403, Code: 4, Message: "(#4) Application request limit reached", Class: graph.ClassThrottled}
	var appKey string
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if appKey != "" { // the last pause ran out a moment ago
			if err := db.Client.PExpire(ctx, appKey, want-time.Second).Err(); err != nil { // 2 × the last, less a second
				t.Fatal(err)
			}
		}
		for _, p := range pages {
			if err := l.Resume(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		origin := pages[int(want/time.Minute)%len(pages)]
		worker.PauseForError(l, metrics.New(), origin, refused, testLogger())
		for _, p := range pages {
			d, _, err := l.Paused(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if d < want-time.Second || d > want*3/2+time.Second {
				t.Errorf("refused on %s: page %s paused %s, want %s to half again", origin, p, d, want)
			}
		}
		keys, err := db.Client.Keys(ctx, "*app:pause_last").Result()
		if err != nil || len(keys) != 1 {
			t.Fatalf("app pause record: %v %v", keys, err)
		}
		appKey = keys[0]
	}
}

// TestRegainTimePauseReason: Graph's X-Business-Use-Case-Usage says the Page
// regains access in 7 minutes while its figures are at 40 %: the Page is
// paused for the 7 minutes, and the pause's reason (in status, the log and
// every put-back's last error) says so, not that usage was near the limit
// at 40 %.
func TestRegainTimePauseReason(t *testing.T) {
	h := newHarness(t, sandbox.Options{Pages: 1, Seed: 83})
	page := h.pages[0]
	buc := `{"` + page.ID + `":[{"type":"pages","call_count":40,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":7}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.sb.ServeHTTP(&usageWriter{ResponseWriter: w, v: buc}, r)
	}))
	t.Cleanup(srv.Close)
	g := graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second,
		Observer: worker.GraphObserver(h.ledger, metrics.New(), testLogger())})
	ctx := context.Background()
	for _, err := range g.Feed(ctx, page.AccessToken, page.ID) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	d, reason, err := h.ledger.Paused(ctx, page.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d < 6*time.Minute {
		t.Errorf("paused for %s, want the 7 minutes Graph gave (%q)", d, reason)
	}
	if strings.Contains(reason, "near the limit") || !strings.Contains(reason, "7m") {
		t.Errorf("pause reason %q: want the time to regain access (7m), not a usage near the limit", reason)
	}
}
