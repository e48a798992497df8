package graph_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// limitsAsked records the limit parameter of every request, in order.
type limitsAsked struct {
	mu     sync.Mutex
	limits []string
}

func (l *limitsAsked) reset() { l.mu.Lock(); l.limits = nil; l.mu.Unlock() }

// String returns the limits asked for, space-separated ("" for a request
// without one).
func (l *limitsAsked) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.limits, " ")
}

// limitsAskedOf returns a client of sb over loopback HTTP and the record of
// the limits its requests ask for.
func limitsAskedOf(t *testing.T, sb *sandbox.Sandbox) (*graph.Client, *limitsAsked) {
	t.Helper()
	l := &limitsAsked{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.limits = append(l.limits, r.URL.Query().Get("limit"))
		l.mu.Unlock()
		sb.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second}), l
}

// TestListingAsksForSmallerPages: Graph answers a page of a listing too heavy
// to build with code 1, "Please reduce the amount of data you're asking for,
// then retry your request", however often it is asked the same. The listing
// asks for that page again with a quarter of the items, down to 5, and goes
// on with the smaller pages; below 5 it gives the error up.
func TestListingAsksForSmallerPages(t *testing.T) {
	sb, page, post := commentedPost(62, 40)
	c, lim := limitsAskedOf(t, sb)
	read := func() (int, error) {
		n := 0
		for _, err := range c.Comments(context.Background(), page.Token, post) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	for _, tc := range []struct {
		most   int
		want   int
		limits string // of the requests, in order
		fails  bool
	}{
		{most: 0, want: 40, limits: "100"},
		{most: 30, want: 40, limits: "100 25 25"},
		{most: 10, want: 40, limits: "100 25 6 6 6 6 6 6 6"},
		{most: 4, limits: "100 25 6 5", fails: true},
	} {
		t.Run(fmt.Sprintf("at most %d", tc.most), func(t *testing.T) {
			sb.SetFaults(sandbox.Faults{MaxListItems: tc.most})
			lim.reset()
			n, err := read()
			if got := lim.String(); got != tc.limits {
				t.Errorf("limits asked for: %s, want %s", got, tc.limits)
			}
			var ge *graph.Error
			if tc.fails {
				if !errors.As(err, &ge) || ge.Code != 1 {
					t.Errorf("read %d comments, error %v: want Graph's code 1", n, err)
				}
				return
			}
			if err != nil || n != tc.want {
				t.Errorf("read %d comments, error %v: want %d", n, err, tc.want)
			}
		})
	}
}

// TestNoSmallerPagesWhenToldToWait: Graph's "reduce the amount of data"
// answer is not asked again at once in smaller pages when Graph says to
// wait: with usage headers saying the app is at its limit it is a throttle,
// and with a Retry-After the listing ends with the error, which carries the
// wait.
func TestNoSmallerPagesWhenToldToWait(t *testing.T) {
	for _, tc := range []struct {
		name, header, value string
		want                func(*graph.Error) bool
	}{
		{name: "throttled", header: "X-App-Usage", value: `{"call_count":100,"total_cputime":20,"total_time":30}`,
			want: func(ge *graph.Error) bool { return ge.Class == graph.ClassThrottled }},
		{name: "retry after", header: "Retry-After", value: "30",
			want: func(ge *graph.Error) bool { return ge.RetryAfter > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				w.Header().Set(tc.header, tc.value)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprint(w, `{"error":{"message":"Please reduce the amount of data you're asking for, then retry your request","type":"OAuthException","code":1,"fbtrace_id":"A1"}}`)
			}))
			defer srv.Close()
			c := graph.New(graph.Config{BaseURL: srv.URL, Timeout: 5 * time.Second})
			var err error
			for _, e := range c.Comments(context.Background(), "EAABtoken", "1_2") {
				err = e
			}
			var ge *graph.Error
			if !errors.As(err, &ge) || !tc.want(ge) {
				t.Errorf("error %v, want Graph's code 1 with its %s", err, tc.header)
			}
			if n := calls.Load(); n != 1 {
				t.Errorf("%d calls, want 1: no smaller pages while Graph asks to wait", n)
			}
		})
	}
}
