package api

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// maxHeldError is the most of a 500's body monitorErrors holds back: asynqmon
// writes one line of error text; anything longer goes out as it is.
const maxHeldError = 4 << 10

// monitorErrors answers asynqmon's errors on /monitor/api/ the way the rest
// of the API answers them, in its error shape: a queue that does not exist
// with 404 (asynqmon's listings answer "asynq: queue not found" and its queue
// page "NOT_FOUND: queue ... does not exist" with 500, though the request is
// at fault, and its task routes a plain-text 404), asynqmon's other 404s
// with 404, and any 500 while Redis does not answer (the readiness probe,
// which also fails while Redis answers but refuses writes: not that;
// asynqmon passes the raw dial error on, Redis's address and all) with 503.
// Other answers pass through as asynqmon writes them: only a 500 or a 404 is
// held back, so successful answers are neither buffered nor slowed.
func (s *Server) monitorErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/monitor/api/") {
			next.ServeHTTP(w, r)
			return
		}
		hw := &holdErrorWriter{ResponseWriter: w}
		next.ServeHTTP(hw, r)
		if !hw.holding {
			return
		}
		held := hw.body.String()
		if strings.Contains(held, asynq.ErrQueueNotFound.Error()) || strings.Contains(held, "queue not found") ||
			strings.Contains(held, "NOT_FOUND: queue") {
			writeError(w, http.StatusNotFound, noSuchQueue(r.URL.Path), "")
			return
		}
		if hw.code == http.StatusNotFound {
			msg := strings.TrimSpace(held)
			if msg == "" || config.HoldsSecret(msg, s.secrets) {
				// asynqmon's own words, which may quote the path's
				// parts: a client can send anything, a secret too.
				msg = "not found"
			}
			writeError(w, http.StatusNotFound, safePath(msg), "")
			return
		}
		if s.ready != nil {
			// Redis refusing writes answers: asynqmon's error passes through.
			if err := s.ready.Ping(r.Context()); err != nil && !errors.Is(err, tasks.ErrRefusesWrites) {
				// The log keeps asynqmon's error, which the answer does not
				// pass on (it names Redis's address).
				// A WARN once per logspace.Period, the others at debug: an
				// open monitor asks every few seconds, each a 503.
				lvl, repeated := s.monitorAwayLog.Level(s.now(), slog.LevelWarn)
				attrs := []any{slog.String("path", redactedValue(r.URL.Path, s.secrets, safePath, "a path")),
					slog.String("error", err.Error()), slog.String("monitor_error", redactedValue(strings.TrimSpace(hw.body.String()), s.secrets, safePath, "an error"))}
				if repeated > 0 {
					attrs = append(attrs, slog.Int("repeated", repeated))
				}
				s.log.Log(r.Context(), lvl, "monitor: redis does not answer", attrs...)
				writeUnavailable(w, redisRetryAfter, "monitor unavailable (Redis unavailable); try again")
				return
			}
		}
		hw.release()
	})
}

// noSuchQueue is the answer's message for the queue a path of asynqmon's API
// names (/monitor/api/queues/{qname}/...), quoted when of at most echoMax
// bytes (the queues' names are), else not, whatever it holds: a client can
// send anything, a secret too, and an answer that quoted every name but one
// holding a secret told which of a caller's guesses held one.
func noSuchQueue(path string) string {
	rest, ok := strings.CutPrefix(path, "/monitor/api/queues/")
	name, _, _ := strings.Cut(rest, "/")
	if !ok || name == "" {
		return "no such queue"
	}
	if len(name) > echoMax {
		return fmt.Sprintf("no such queue (its name, longer than %d bytes, is not repeated)", echoMax)
	}
	return fmt.Sprintf("no such queue: %q", name)
}

// holdErrorWriter passes an answer through unless its status is 500 or 404:
// then it holds the status and up to maxHeldError bytes of body back, for
// monitorErrors to answer instead or release.
type holdErrorWriter struct {
	http.ResponseWriter
	wrote   bool // a status went to the ResponseWriter
	holding bool // a 500 or 404 is held back
	code    int  // the status held back
	body    bytes.Buffer
}

func (w *holdErrorWriter) WriteHeader(code int) {
	switch {
	case w.holding:
		// A second status after the held 500: superfluous, as net/http has it.
	case (code == http.StatusInternalServerError || code == http.StatusNotFound) && !w.wrote:
		w.holding, w.code = true, code
	default:
		w.wrote = w.wrote || code >= 200 // informational statuses may precede the answer's
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *holdErrorWriter) Write(b []byte) (int, error) {
	if !w.holding {
		w.wrote = true
		return w.ResponseWriter.Write(b)
	}
	if w.body.Len()+len(b) <= maxHeldError {
		return w.body.Write(b)
	}
	// Not asynqmon's error line: let it out as it is.
	w.release()
	return w.ResponseWriter.Write(b)
}

// release writes the held status and its body.
func (w *holdErrorWriter) release() {
	w.holding, w.wrote = false, true
	w.ResponseWriter.WriteHeader(w.code)
	_, _ = w.ResponseWriter.Write(w.body.Bytes())
	w.body.Reset()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *holdErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes flushes through, except of an answer held back.
func (w *holdErrorWriter) Flush() {
	if w.holding {
		return
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
