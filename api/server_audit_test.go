package api_test

import (
	"context"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestStartRefusesEmptyTokens: a token list of empty strings is no token:
// Start refuses it as it refuses an empty list (before, it started with
// /v1 and the monitor open to anyone, as with --insecure).
func TestStartRefusesEmptyTokens(t *testing.T) {
	for _, toks := range [][]string{{""}, {"", ""}} {
		s := api.New(api.Params{Addr: "127.0.0.1:0", Tokens: toks})
		if err := s.Start(); err != api.ErrNoToken {
			_ = s.Shutdown(context.Background())
			t.Errorf("Start with tokens %q: %v, want ErrNoToken", toks, err)
		}
	}
}
