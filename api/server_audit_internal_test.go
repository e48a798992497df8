package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestServerTimeouts: besides the write timeout, the API server bounds how
// long a client may take to send its headers (slowloris), its whole
// request, and how long an idle keep-alive connection is kept: without
// them any caller, with or without a token, could hold connections for as
// long as TCP keeps them. Kills: each of the three set to 0 (none).
func TestServerTimeouts(t *testing.T) {
	srv := startedHTTPServer(t)
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout, "IdleTimeout": srv.IdleTimeout} {
		if d <= 0 || d > 5*time.Minute {
			t.Errorf("%s %s, want between 0 and 5 minutes", name, d)
		}
	}
	if srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("ReadHeaderTimeout %s above ReadTimeout %s", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
}

// deadlineRecorder is a ResponseWriter that records the write deadlines
// http.ResponseController sets on it.
type deadlineRecorder struct {
	*httptest.ResponseRecorder
	deadlines []time.Time
}

func (d *deadlineRecorder) SetWriteDeadline(t time.Time) error {
	d.deadlines = append(d.deadlines, t)
	return nil
}

// TestWriteBudgetSetsDeadline: POST /v1/replies's writer lifts the server's
// write deadline while the batch is handled, then sets a new one, the write
// timeout from then, once the answer starts: the answer's writing is still
// bounded. Kills: start setting no deadline (the zero time).
func TestWriteBudgetSetsDeadline(t *testing.T) {
	s := &Server{p: Params{WriteTimeout: time.Hour}}
	rec := &deadlineRecorder{ResponseRecorder: httptest.NewRecorder()}
	before := time.Now()
	w := s.withWriteBudget(rec)
	if len(rec.deadlines) != 1 || !rec.deadlines[0].IsZero() {
		t.Fatalf("deadlines before the answer: %v, want one lifted (zero)", rec.deadlines)
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte("{}\n"))
	if len(rec.deadlines) != 2 {
		t.Fatalf("deadlines after the answer: %v, want a second one, set once", rec.deadlines)
	}
	if d := rec.deadlines[1]; d.Before(before.Add(time.Hour)) || d.After(time.Now().Add(time.Hour)) {
		t.Errorf("answer's write deadline %s, want the write timeout (1h) from when it started", d)
	}
}
