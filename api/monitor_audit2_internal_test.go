package api

import (
	"encoding/json"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// monitorErrorsServer serves mux behind monitorErrors, Redis up.
func monitorErrorsServer(t *testing.T, mux *http.ServeMux) string {
	t.Helper()
	db := redistest.New(t)
	s := &Server{log: slog.New(slog.DiscardHandler), ready: tasks.NewPinger(db.Client, 0)}
	srv := httptest.NewUnstartedServer(s.monitorErrors(mux))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the superfluous WriteHeader the tests make
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

func getAnswer(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// errorMessage decodes the API's error shape, failing t when body is not one.
func errorMessage(t *testing.T, body string) string {
	t.Helper()
	var e errorBody
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Errorf("not the API's error shape (%v): %q", err, body)
	}
	return e.Error.Message
}

// TestMonitorErrorsHeldAnswers: monitorErrors's answers in the API's error
// shape say something for an empty 404 ("not found"), clip a long one, and
// hold back an error line of exactly maxHeldError bytes (an unknown queue
// answered 404, not asynqmon's 500). Kills: no default message, the message
// not clipped, the hold limit one byte short.
func TestMonitorErrorsHeldAnswers(t *testing.T) {
	long := strings.Repeat("n", 1000)
	atLimit := "queue not found" + strings.Repeat(" ", maxHeldError-len("queue not found")-1) // + http.Error's "\n"
	mux := http.NewServeMux()
	mux.HandleFunc("/monitor/api/empty", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
	mux.HandleFunc("/monitor/api/long", func(w http.ResponseWriter, r *http.Request) { http.Error(w, long, http.StatusNotFound) })
	mux.HandleFunc("/monitor/api/queues/q1/limit", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, atLimit, http.StatusInternalServerError)
	})
	url := monitorErrorsServer(t, mux)

	resp, body := getAnswer(t, url+"/monitor/api/empty")
	if msg := errorMessage(t, body); resp.StatusCode != 404 || msg != "not found" {
		t.Errorf("empty 404: %d %q, want 404 \"not found\"", resp.StatusCode, body)
	}
	resp, body = getAnswer(t, url+"/monitor/api/long")
	if msg := errorMessage(t, body); resp.StatusCode != 404 || msg != long[:200]+"..." {
		t.Errorf("long 404: %d, message of %d bytes, want it clipped to 200", resp.StatusCode, len(msg))
	}
	resp, body = getAnswer(t, url+"/monitor/api/queues/q1/limit")
	if msg := errorMessage(t, body); resp.StatusCode != 404 || msg != `no such queue: "q1"` {
		t.Errorf("unknown queue, error line of maxHeldError bytes: %d %.100q", resp.StatusCode, body)
	}
}

// TestMonitorErrorsAfterTheAnswerStarted: a 404 or 500 status sent after
// the answer has started (a body written, or an informational status before
// it) is not held back: what was written stays the answer, and an error
// after a 103 is still the API's. A flush while a 500 is held sends nothing
// (the client would get a 200). Kills: holding without !wrote, Write not
// marking the answer started, 1xx marking it started, a flush of the held
// answer.
func TestMonitorErrorsAfterTheAnswerStarted(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/monitor/api/late", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
		w.WriteHeader(http.StatusNotFound) // superfluous: the 200 went out
		_, _ = io.WriteString(w, " more")
	})
	mux.HandleFunc("/monitor/api/queues/q1/hints", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusEarlyHints)
		http.Error(w, "queue not found", http.StatusInternalServerError)
	})
	mux.HandleFunc("/monitor/api/flush", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_ = http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, "boom")
	})
	url := monitorErrorsServer(t, mux)

	if resp, body := getAnswer(t, url+"/monitor/api/late"); resp.StatusCode != 200 || body != "ok more" {
		t.Errorf("404 after the body started: %d %q, want 200 \"ok more\"", resp.StatusCode, body)
	}
	resp, body := getAnswer(t, url+"/monitor/api/queues/q1/hints")
	if msg := errorMessage(t, body); resp.StatusCode != 404 || msg != `no such queue: "q1"` {
		t.Errorf("unknown queue after a 103: %d %q, want 404", resp.StatusCode, body)
	}
	if resp, body := getAnswer(t, url+"/monitor/api/flush"); resp.StatusCode != 500 || body != "boom" {
		t.Errorf("500 flushed: %d %q, want 500 \"boom\"", resp.StatusCode, body)
	}
}

// TestNoSuchQueue: the message names the queue of the path, quoted, when
// of at most 7 bytes (echoMax), and says only "no such queue" for a path
// that names none. Kills: an empty name quoted, a long one quoted.
func TestNoSuchQueue(t *testing.T) {
	long := strings.Repeat("q", 300)
	for path, want := range map[string]string{
		"/monitor/api/queues/replies/tasks/x": `no such queue: "replies"`,
		"/monitor/api/queues/":                "no such queue",
		"/monitor/api/redis_info":             "no such queue",
		"/monitor/api/queues/" + long:         "no such queue (its name, longer than 7 bytes, is not repeated)",
		"/monitor/api/queues/replies2":        "no such queue (its name, longer than 7 bytes, is not repeated)",
	} {
		if got := noSuchQueue(path); got != want {
			t.Errorf("noSuchQueue(%.60q) = %.80q, want %.80q", path, got, want)
		}
	}
}

// TestSafePathBoundary: a path of 200 bytes is logged whole; one byte more
// is clipped. Kills: clipping at 200.
func TestSafePathBoundary(t *testing.T) {
	p := strings.Repeat("p", 200)
	if got := safePath(p); got != p {
		t.Errorf("safePath of 200 bytes clipped: %q", got)
	}
	if got := safePath(p + "x"); got != p+"..." {
		t.Errorf("safePath of 201 bytes: %q", got)
	}
}

// TestDefaultAddrLoopback: with no Addr, the API listens on loopback only,
// not on every interface (its /metrics and /healthz need no token). Kills:
// another default.
func TestDefaultAddrLoopback(t *testing.T) {
	if got := New(Params{}).p.Addr; got != "127.0.0.1:8080" {
		t.Errorf("default Addr %q, want 127.0.0.1:8080", got)
	}
}

// TestMonitorRedisAwayLogged: while Redis does not answer, a 500 of the
// monitor's API is answered 503 without asynqmon's error (it names Redis's
// address), and the log keeps that error beside the PING's. Kills: the
// warning dropped.
func TestMonitorRedisAwayLogged(t *testing.T) {
	dead := tasks.NewRedisClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	var logs proctest.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), ready: tasks.NewPinger(dead, 200*time.Millisecond)}
	mux := http.NewServeMux()
	mux.HandleFunc("/monitor/api/queues", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "dial tcp 127.0.0.1:1: connect: connection refused", http.StatusInternalServerError)
	})
	srv := httptest.NewServer(s.monitorErrors(mux))
	t.Cleanup(srv.Close)
	resp, body := getAnswer(t, srv.URL+"/monitor/api/queues")
	if msg := errorMessage(t, body); resp.StatusCode != 503 || strings.Contains(msg, "127.0.0.1:1") {
		t.Errorf("monitor with Redis away: %d %q, want 503 without the dial error", resp.StatusCode, body)
	}
	if l := logs.String(); !strings.Contains(l, "monitor: redis does not answer") || !strings.Contains(l, "connect: connection refused") ||
		!strings.Contains(l, `"path":"/monitor/api/queues"`) {
		t.Errorf("log without the monitor's error:\n%s", l)
	}
}
