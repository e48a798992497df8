package api

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// TestServerWriteTimeout: the API server gives up on a client that does not
// read its answer (before: no write timeout, so any caller, with or without
// credentials, could hold connections and handlers for as long as TCP kept
// them), and not before its slowest answer.
func TestServerWriteTimeout(t *testing.T) {
	wt := startedHTTPServer(t).WriteTimeout
	if wt != DefaultWriteTimeout || wt < time.Minute || wt > 5*time.Minute {
		t.Errorf("WriteTimeout %s, want between 1 and 5 minutes", wt)
	}
}

// startedHTTPServer starts an API server with default Params on a free
// loopback port, shut down when the test ends, and returns its http.Server.
func startedHTTPServer(t *testing.T) *http.Server {
	t.Helper()
	s := New(Params{Addr: "127.0.0.1:0", Tokens: []string{"0123456789abcdef"},
		Enqueuer: &tasks.Enqueuer{}, Ledger: &tasks.Ledger{}, Inspector: &asynq.Inspector{}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv
}
