package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// requestLogLine returns the request log's line (decoded) for path, waiting
// (bounded) until it is written after the answer.
func requestLogLine(t *testing.T, e *env, path string) map[string]any {
	t.Helper()
	waitLog(t, e, `"msg":"http request"`)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(e.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "http request" && m["path"] == path {
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no request log line for %s:\n%s", path, e.logs.String())
		}
	}
}

// TestRequestLogRecordsTheAnswer: the request log line holds the status the
// client got (the first one: a later WriteHeader is superfluous and net/http
// ignores it), the bytes it got, 200 for an answer the handler wrote nothing
// for, and the client's address; net/http's own complaint about the
// superfluous status reaches the server's log, not stderr. Kills: statusWriter
// keeping the last status or not counting a body-first answer as 200, bytes
// not counted, no 200 for an empty answer, no remote, the server's ErrorLog
// (or slogErrorLog.Write) dropped.
func TestRequestLogRecordsTheAnswer(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				return // nothing written: net/http answers 200
			}
			_, _ = io.WriteString(w, "hello")
			w.WriteHeader(http.StatusInternalServerError) // superfluous: the 200 went out
			_, _ = io.WriteString(w, " world")
		})
	})
	resp, body := e.request(t, "POST", "/webhook", "", "")
	if resp.StatusCode != 200 || string(body) != "hello world" {
		t.Fatalf("POST /webhook: %d %q", resp.StatusCode, body)
	}
	line := requestLogLine(t, e, "/webhook")
	if line["status"] != float64(200) || line["bytes"] != float64(len("hello world")) || line["level"] != "INFO" {
		t.Errorf("request log line %v, want status 200, bytes %d, level INFO", line, len("hello world"))
	}
	if remote, _ := line["remote"].(string); !strings.HasPrefix(remote, "127.0.0.1:") {
		t.Errorf("request log line %v without the client's address", line)
	}
	if logged := waitLog(t, e, "superfluous"); !strings.Contains(grepLines(logged, "superfluous"), `"source":"net/http"`) {
		t.Errorf("net/http's superfluous WriteHeader complaint not in the server's log:\n%s", logged)
	}

	e2 := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	})
	if resp, _ := e2.request(t, "GET", "/webhook", "", ""); resp.StatusCode != 200 {
		t.Fatalf("GET /webhook: %d", resp.StatusCode)
	}
	if line := requestLogLine(t, e2, "/webhook"); line["status"] != float64(200) || line["bytes"] != float64(0) {
		t.Errorf("request log line of an empty answer %v, want status 200, bytes 0", line)
	}
}

// TestRoutineRequestsLoggedAtDebug: scrapes of /metrics and the monitor's
// requests (its page polls its API every few seconds) are logged at DEBUG,
// not INFO, beside the /v1 requests that are. Kills: either dropped from the
// DEBUG case.
func TestRoutineRequestsLoggedAtDebug(t *testing.T) {
	e := newEnv(t, nil)
	scrapeMetrics(t, e)
	if resp, body := e.request(t, "GET", "/monitor/api/queues", testToken, ""); resp.StatusCode != 200 {
		t.Fatalf("monitor: %d %s", resp.StatusCode, body)
	}
	e.do(t, "GET", "/v1/replies/comment:404_404", testToken, "")
	for path, level := range map[string]string{"/metrics": "DEBUG", "/monitor/api/queues": "DEBUG", "/v1/replies/comment:404_404": "INFO"} {
		if line := requestLogLine(t, e, path); line["level"] != level {
			t.Errorf("%s logged %v, want level %s", path, line, level)
		}
	}
}

// TestAbortHandlerNotAnswered: a handler that aborts with
// http.ErrAbortHandler (a proxy's way to cut the answer) has its connection
// cut, as net/http does, not answered 500 and logged as a panic. Kills:
// recoverPanics recovering ErrAbortHandler.
func TestAbortHandlerNotAnswered(t *testing.T) {
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	})
	resp, err := http.Post(e.url+"/webhook", "application/json", strings.NewReader("{}"))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Errorf("aborted handler answered %d %q, want the connection cut", resp.StatusCode, b)
	}
	if st, _ := e.do(t, "GET", "/healthz", "", ""); st != 200 {
		t.Errorf("after an abort, /healthz: %d", st)
	}
	if strings.Contains(e.logs.String(), "handler panicked") {
		t.Errorf("an aborted handler logged as a panic:\n%s", e.logs.String())
	}
}

// TestReadyzUsesLedgerRedis: with Params.Redis unset, /readyz pings the
// ledger's Redis, and answers 503 when it does not answer. Kills: no
// default from the ledger (readyz then always 200).
func TestReadyzUsesLedgerRedis(t *testing.T) {
	dead := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	e := newEnv(t, func(p *api.Params) {
		p.Ledger = tasks.NewLedger(dead, tasks.LedgerOptions{})
		p.ReadyTimeout = 200 * time.Millisecond
	})
	if status, m := e.do(t, "GET", "/readyz", "", ""); status != 503 || errMessage(m) != "redis does not answer" {
		t.Errorf("readyz with the ledger's Redis away: %d %v, want 503", status, m)
	}
}

// TestHandlerReadyzAndShutdown: a server used through Handler (built
// elsewhere) answers /readyz 200 with no Redis to ping and serves /metrics
// with no Ledger (and no Pages whose pauses it would read), and with Redis
// answers /readyz 200 until Shutdown, 503 from then on. Kills: readyz
// refusing without Redis, the pause collector reading no Pages from a nil
// Ledger, Shutdown not marking the server stopping.
func TestHandlerReadyzAndShutdown(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	bare := httptest.NewServer(api.New(api.Params{Tokens: []string{testToken}, Logger: quiet}).Handler())
	t.Cleanup(bare.Close)
	if status := getStatus(t, bare.URL+"/readyz"); status != 200 {
		t.Errorf("readyz with no Redis to ping: %d, want 200", status)
	}
	if status := getStatus(t, bare.URL+"/metrics"); status != 200 {
		t.Errorf("metrics with no Ledger and no Pages: %d, want 200", status)
	}

	db := redistest.New(t)
	s := api.New(api.Params{Tokens: []string{testToken}, Redis: db.Client, Logger: quiet})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	if status := getStatus(t, srv.URL+"/readyz"); status != 200 {
		t.Fatalf("readyz before Shutdown: %d, want 200", status)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if status := getStatus(t, srv.URL+"/readyz"); status != 503 {
		t.Errorf("readyz after Shutdown: %d, want 503", status)
	}
}

func getStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestInsecureStartWarns: started open (--insecure), the API says so in its
// log at WARN. Kills: the warning dropped.
func TestInsecureStartWarns(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Tokens = nil; p.Insecure = true })
	if l := grepLines(e.logs.String(), "--insecure"); !strings.Contains(l, `"level":"WARN"`) {
		t.Errorf("no WARN that the API is open:\n%s", e.logs.String())
	}
	closed := newEnv(t, nil)
	if strings.Contains(closed.logs.String(), "--insecure") {
		t.Errorf("a server with a token warns it is open:\n%s", closed.logs.String())
	}
}

// TestMetricsGatherErrorLogged: when /metrics cannot be gathered (here a
// Metrics registry that also holds the Go collector /metrics adds), the
// scrape fails and the log says why. Kills: promhttp's ErrorLog dropped, or
// slogErrorLog.Println logging nothing.
func TestMetricsGatherErrorLogged(t *testing.T) {
	m := metrics.New()
	m.Registry.MustRegister(collectors.NewGoCollector())
	e := newEnv(t, func(p *api.Params) { p.Metrics = m })
	resp, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 {
		t.Fatalf("/metrics with a duplicate collector: %d, want 500", resp.StatusCode)
	}
	if l := grepLines(waitLog(t, e, "error gathering metrics"), "error gathering metrics"); !strings.Contains(l, "go_goroutines") {
		t.Errorf("the gather error not logged:\n%s", e.logs.String())
	}
}

// TestQueueMetricsUnitsAndAllStates: every state of asynq_queue_size is
// exported, aggregating too, and active is its own count; a queue's memory
// is its own, not 0, and its latency is in seconds (a task queued now: well
// under a minute). Kills: a state left out or given another's count, memory
// not passed on, latency in milliseconds.
func TestQueueMetricsUnitsAndAllStates(t *testing.T) {
	e := newEnv(t, nil)
	client := asynq.NewClient(e.opt)
	t.Cleanup(func() { _ = client.Close() })
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypePoll, []byte(`{}`), asynq.Queue(tasks.QueuePolls))); err != nil {
		t.Fatal(err)
	}
	// A task of the replies queue taken by a worker (moved to active as
	// asynq's dequeue does), so that active and retry differ.
	if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte(`{}`), asynq.Queue(tasks.QueueReplies))); err != nil {
		t.Fatal(err)
	}
	rdb := tasks.NewRedisClient(e.opt)
	t.Cleanup(func() { _ = rdb.Close() })
	rq := "asynq:{" + tasks.QueueReplies + "}:"
	if err := rdb.LMove(context.Background(), rq+"pending", rq+"active", "RIGHT", "LEFT").Err(); err != nil {
		t.Fatal(err)
	}
	// The pending task waits a little: latency above 0.
	time.Sleep(50 * time.Millisecond)
	m := scrapeMetrics(t, e)
	q, r := `queue="`+tasks.QueuePolls+`"`, `queue="`+tasks.QueueReplies+`"`
	wantSamples(t, m, `asynq_queue_size{`+q+`,state="aggregating"} 0`, `asynq_queue_size{`+q+`,state="pending"} 1`,
		`asynq_queue_size{`+r+`,state="active"} 1`, `asynq_queue_size{`+r+`,state="retry"} 0`, `asynq_queue_size{`+r+`,state="pending"} 0`)
	var memory, latency float64
	if _, err := fmt.Sscanf(grepLines(m, `asynq_queue_memory_usage_approx_bytes{`+q+`}`), `asynq_queue_memory_usage_approx_bytes{`+q+`} %g`, &memory); err != nil || memory <= 0 {
		t.Errorf("memory of a queue with a task: %v (%v)\n%s", memory, err, grepLines(m, "asynq_queue_memory"))
	}
	if _, err := fmt.Sscanf(grepLines(m, `asynq_queue_latency_seconds{`+q+`}`), `asynq_queue_latency_seconds{`+q+`} %g`, &latency); err != nil || latency <= 0 || latency >= 10 {
		t.Errorf("latency of a task queued now: %v (%v), want seconds\n%s", latency, err, grepLines(m, "asynq_queue_latency_seconds"))
	}
}

// TestHealthzBody: /healthz and /readyz answer {"status":"ok"} as JSON, a
// line of its own. Kills: another body.
func TestHealthzBody(t *testing.T) {
	e := newEnv(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, body := e.request(t, "GET", path, "", "")
		if resp.StatusCode != 200 || string(body) != "{\"status\":\"ok\"}\n" || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %q %q", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
}

// TestShutdownClosesMonitorPool: Shutdown closes the monitor's own Redis
// pool: its connections are gone once it returns, not left open until the
// process ends. The monitor gets a database of its own here, so its
// connections can be counted. Kills: Shutdown without closeMonitor.
func TestShutdownClosesMonitorPool(t *testing.T) {
	mdb := redistest.New(t)
	e := newEnv(t, func(p *api.Params) { p.RedisConnOpt = asynq.RedisClientOpt{Addr: mdb.Addr, DB: mdb.DB} })
	ctx := context.Background()
	conns := func() int {
		t.Helper()
		list, err := mdb.Client.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(list, fmt.Sprintf(" db=%d ", mdb.DB))
	}
	before := conns()
	if resp, body := e.request(t, "GET", "/monitor/api/queues", testToken, ""); resp.StatusCode != 200 {
		t.Fatalf("monitor: %d %s", resp.StatusCode, body)
	}
	if n := conns(); n <= before {
		t.Fatalf("the monitor's request opened no connection to its database (%d, %d before)", n, before)
	}
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	n := conns()
	for deadline := time.Now().Add(2 * time.Second); n > before && time.Now().Before(deadline); n = conns() {
		time.Sleep(10 * time.Millisecond)
	}
	if n > before {
		t.Errorf("after Shutdown the monitor still holds %d connections", n-before)
	}
}

// TestReadOnlyMonitorOnlyGuardsItsAPI: read-only refuses writes to the
// monitor's API only; its pages (which asynqmon serves whatever the method)
// are still served. Kills: readOnlyMonitor refusing every path.
func TestReadOnlyMonitorOnlyGuardsItsAPI(t *testing.T) {
	e := newEnv(t, nil)
	if resp, body := e.request(t, "POST", "/monitor/", testToken, ""); resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
		t.Errorf("POST /monitor/ on a read-only monitor: %d %.100q, want its page", resp.StatusCode, body)
	}
}

// TestStartNeedsEachPart: Start refuses a server without any one of its
// Enqueuer, Ledger and Inspector (not only without all three). Kills: one of
// them left out of the check.
func TestStartNeedsEachPart(t *testing.T) {
	for name, p := range map[string]api.Params{
		"Enqueuer":  {Ledger: &tasks.Ledger{}, Inspector: &asynq.Inspector{}},
		"Ledger":    {Enqueuer: &tasks.Enqueuer{}, Inspector: &asynq.Inspector{}},
		"Inspector": {Enqueuer: &tasks.Enqueuer{}, Ledger: &tasks.Ledger{}},
	} {
		p.Addr, p.Tokens, p.Logger = "127.0.0.1:0", []string{testToken}, slog.New(slog.DiscardHandler)
		s := api.New(p)
		if err := s.Start(); err == nil {
			_ = s.Shutdown(context.Background())
			t.Errorf("Start without %s: no error", name)
		}
	}
}

// TestFlushReachesClient: a handler behind the request log that flushes
// gets its first bytes to the client before it finishes (the request log's
// writer passes flushes on). Kills: statusWriter.Flush flushing nothing.
func TestFlushReachesClient(t *testing.T) {
	next := make(chan struct{})
	e := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, "first\n")
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			select {
			case <-next:
			case <-time.After(5 * time.Second):
			}
			_, _ = io.WriteString(w, "second\n")
		})
	})
	defer close(next)
	first := make(chan string, 1)
	go func() {
		resp, err := http.Get(e.url + "/webhook")
		if err != nil {
			first <- err.Error()
			return
		}
		defer resp.Body.Close()
		b := make([]byte, len("first\n"))
		_, _ = io.ReadFull(resp.Body, b)
		first <- string(b)
	}()
	select {
	case got := <-first:
		if got != "first\n" {
			t.Errorf("first chunk %q", got)
		}
	case <-time.After(2 * time.Second):
		t.Errorf("the flushed chunk did not reach the client while the handler ran")
	}
}

// TestPanicLogHasStack: a handler's panic is logged with its stack, which
// names the function that panicked. Kills: the stack left out.
func TestPanicLogHasStack(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.Webhook = http.HandlerFunc(panickingHandler) })
	if st, _ := e.do(t, http.MethodPost, "/webhook", "", "{}"); st != http.StatusInternalServerError {
		t.Fatalf("panicking handler: %d", st)
	}
	if l := grepLines(waitLog(t, e, "handler panicked"), "handler panicked"); !strings.Contains(l, "panickingHandler") {
		t.Errorf("panic logged without its stack:\n%s", l)
	}
}

func panickingHandler(http.ResponseWriter, *http.Request) { panic("boom") }
