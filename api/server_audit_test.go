package api_test

import (
	"context"
	"net/http"
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

// TestRootRedirectsOnlyToAMonitor: / sends a browser to the monitor when it
// runs, and answers 404 when it is off, instead of a redirect to a page that
// is not there.
func TestRootRedirectsOnlyToAMonitor(t *testing.T) {
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, monitor := range []bool{true, false} {
		e := newEnv(t, func(p *api.Params) { p.Monitor = monitor })
		resp, err := noFollow.Get(e.url + "/")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		want, loc := http.StatusNotFound, ""
		if monitor {
			want, loc = http.StatusFound, "/monitor/"
		}
		if resp.StatusCode != want || resp.Header.Get("Location") != loc {
			t.Errorf("monitor %v: GET / answered %d, Location %q; want %d, %q", monitor, resp.StatusCode, resp.Header.Get("Location"), want, loc)
		}
	}
}
