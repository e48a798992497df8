package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/pagereply/pagereply/config"
)

// errorBody is the one error shape of the API.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeJSON answers v as JSON with status. <, > and & are written as
// they are, not as \u003c escapes (json.Marshal's): the messages' "Bearer
// <api token>" and "comment:<id>" read as such in curl and logs, and the
// answer is application/json with nosniff, never taken for HTML.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	b := []byte(`{"error":{"message":"cannot encode the answer"}}` + "\n")
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
	} else {
		b = buf.Bytes()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers {"error":{"message","field"}} with status.
func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Message: msg, Field: field}})
}

// unavailableBody is a 503's error with its known wait: the API's error
// shape plus retry_after, as POST /v1/replies answers (ReplyResult).
type unavailableBody struct {
	Error      errorDetail `json:"error"`
	RetryAfter int         `json:"retry_after"`
}

// writeUnavailable answers 503 with msg and a wait of retryAfter seconds
// (RFC 9110's delay-seconds), in its Retry-After header and in the body's
// retry_after, as every 503 of the API with a known wait does.
func writeUnavailable(w http.ResponseWriter, retryAfter int, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	writeJSON(w, http.StatusServiceUnavailable, unavailableBody{Error: errorDetail{Message: msg}, RetryAfter: retryAfter})
}

// statusWriter records the status and size of an answer for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through (asynqmon and promhttp may flush).
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// logRequests logs one line per request: method, path (never the query string,
// which may hold a webhook verify token), status, size, duration and the
// client's address. Headers are never logged: Authorization holds a token.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		level, repeated := slog.LevelInfo, -1
		switch {
		case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
			// Probes come every few seconds; a failing /readyz logs why
			// itself (spaced), and an ERROR per probe would bury it.
			level = slog.LevelDebug
		case sw.status == http.StatusServiceUnavailable:
			// The documented "try again" answers (Redis away or slower
			// than the answer's budget, the Page paused, its reads
			// booked; the webhook's delivery Meta sends again): not a
			// bug, and with Redis away every request gets one, each
			// beside its handler's own spaced line. A WARN once per
			// logspace.Period, the others at debug, counted.
			level, repeated = s.unavailableLog.Level(s.now(), slog.LevelWarn)
		case sw.status == http.StatusBadGateway:
			// Graph refused or failed a conversation read: Graph's
			// failure, said by the handler's WARN; spaced the same way.
			level, repeated = s.badGatewayLog.Level(s.now(), slog.LevelWarn)
		case sw.status >= 500 && strings.HasPrefix(r.URL.Path, "/monitor/"):
			// asynqmon's own 500s (its Redis failing while the
			// readiness probe still gets its answer: Redis coming and
			// going, or refusing writes; monitorErrors turns those of a
			// Redis away into 503s): an open monitor asks every few
			// seconds, each refresh a 500 until Redis is back. An ERROR
			// once per logspace.Period, the others at debug, counted (a
			// handler that panicked logs its own ERROR with the stack).
			level, repeated = s.monitorErrorLog.Level(s.now(), slog.LevelError)
		case sw.status >= 500:
			// A 500 is a bug (a handler that panicked, an answer that
			// cannot be encoded): each is an ERROR.
			level = slog.LevelError
		case r.URL.Path == "/metrics" || strings.HasPrefix(r.URL.Path, "/monitor/"):
			level = slog.LevelDebug
		}
		// A client can send anything, a token in place of an id too.
		path := redactedValue(r.URL.Path, s.secrets, safePath, "a path")
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", path),
			slog.Int("status", sw.status),
			slog.Int64("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("remote", r.RemoteAddr),
		}
		if repeated >= 0 && level != slog.LevelDebug {
			attrs = append(attrs, slog.Int("repeated", repeated))
		}
		s.log.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}

// redactedValue is v, a value a request sent, for a log: clipped by clip,
// or, when it holds one of the configuration's secrets (config.HoldsSecret,
// asked of the whole of v: a clipped one could keep a secret's start), a
// note naming what (such as "a path") in its place. A client can send
// anything, a token in place of an id or a mode too.
func redactedValue(v string, secrets []string, clip func(string) string, what string) string {
	if config.HoldsSecret(v, secrets) {
		return "(" + what + " holding a secret of the configuration: not shown)"
	}
	return clip(v)
}

// safePath clips a path for the log: paths carry ids, never secrets, but a
// client can send anything (redactedValue hides one holding a secret).
func safePath(p string) string {
	if len(p) > 200 {
		return p[:200] + "..."
	}
	return p
}

// recoverPanics answers 500 for a handler that panicked instead of dropping the
// connection, and logs the stack. A panic is a bug: the fuzz test hunts them.
// The path, and the panic's value, are logged without the configuration's
// secrets (redactedValue): the path is the client's.
func recoverPanics(log *slog.Logger, secrets []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("api: handler panicked", slog.String("path", redactedValue(r.URL.Path, secrets, safePath, "a path")),
					slog.String("panic", redactedValue(fmt.Sprint(v), secrets, func(s string) string { return s }, "a panic")),
					slog.String("stack", string(debug.Stack())))
				writeError(w, http.StatusInternalServerError, "internal error", "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// slogErrorLog sends net/http's and promhttp's error logs to slog.
type slogErrorLog struct{ l *slog.Logger }

func (e slogErrorLog) Println(v ...any) { e.l.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }

func (e slogErrorLog) Write(p []byte) (int, error) {
	e.l.Warn(strings.TrimSpace(string(p)), slog.String("source", "net/http"))
	return len(p), nil
}

func (e slogErrorLog) logger() *log.Logger { return log.New(e, "", 0) }
