// Package graphtest holds test helpers that stand in front of a Graph
// server (the sandbox), over loopback, for the tests of several packages.
package graphtest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
)

// AskedWait is the Retry-After (whole seconds) an AskingProxy answers
// unless its Wait is set.
const AskedWait = 3 * time.Second

// AskingProxy stands in front of a Graph server (Next, the sandbox), over
// loopback, as a proxy in front of Graph does when it is overloaded: the
// first request (Times requests) that Match says is answered HTTP 503, code
// 2, with Retry-After: Wait (after Next acted on it, with Deliver: the
// answer of a send that went through); every request is timed, and every
// other one goes to Next.
type AskingProxy struct {
	Match   func(*http.Request) bool
	Next    http.Handler
	Deliver bool
	Times   int
	Wait    time.Duration
	// URL is where NewAskingProxy serves it (a graph.base_url).
	URL string

	mu    sync.Mutex
	asked []time.Time // when each 503 was answered
	calls []time.Time // when each request came
}

// NewAskingProxy serves an AskingProxy in front of next, answering the
// first request match says (once, AskedWait), until t ends, and returns it
// with a Graph client calling it.
func NewAskingProxy(t testing.TB, next http.Handler, match func(*http.Request) bool) (*AskingProxy, *graph.Client) {
	t.Helper()
	p := &AskingProxy{Match: match, Next: next, Times: 1, Wait: AskedWait}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p, graph.New(graph.Config{BaseURL: srv.URL, Timeout: 2 * time.Second})
}

func (p *AskingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.calls = append(p.calls, time.Now())
	ask := len(p.asked) < p.Times && p.Match(r)
	if ask {
		p.asked = append(p.asked, time.Now())
	}
	wait := p.Wait
	p.mu.Unlock()
	if !ask {
		p.Next.ServeHTTP(w, r)
		return
	}
	if p.Deliver {
		p.Next.ServeHTTP(httptest.NewRecorder(), r)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(`{"error":{"message":"Service temporarily unavailable","type":"OAuthException","is_transient":true,"code":2,"fbtrace_id":"Ak1"}}`))
}

// Asked is how many requests were answered 503 with Retry-After.
func (p *AskingProxy) Asked() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.asked)
}

// Calls is how many requests came, answered 503 or passed on.
func (p *AskingProxy) Calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// Check fails t unless the 503s were answered, and no request came after
// one before its Retry-After had passed.
func (p *AskingProxy) Check(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.asked) != p.Times {
		t.Fatalf("%d requests answered 503 with Retry-After, want %d", len(p.asked), p.Times)
	}
	for _, asked := range p.asked {
		for _, at := range p.calls {
			if at.After(asked) && at.Before(asked.Add(p.Wait)) {
				t.Errorf("Graph called %s after its 503 asked to wait %s", at.Sub(asked).Round(time.Millisecond), p.Wait)
			}
		}
	}
}
