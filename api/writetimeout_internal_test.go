package api

import (
	"context"
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
	s := New(Params{Addr: "127.0.0.1:0", Tokens: []string{"0123456789abcdef"},
		Enqueuer: &tasks.Enqueuer{}, Ledger: &tasks.Ledger{}, Inspector: &asynq.Inspector{}})
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	s.mu.Lock()
	wt := s.srv.WriteTimeout
	s.mu.Unlock()
	if wt != DefaultWriteTimeout || wt < time.Minute || wt > 5*time.Minute {
		t.Errorf("WriteTimeout %s, want between 1 and 5 minutes", wt)
	}
}
