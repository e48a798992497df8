package graph

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Second mutation audit of client.go: base URL schemes, what a call reports
// to the Observer, and what a failed exchange says.

// TestBaseURLOfAnotherScheme: a base URL with a host but neither http nor
// https fails every call as a permanent configuration error, without a
// connection tried: it is no transport failure to retry.
func TestBaseURLOfAnotherScheme(t *testing.T) {
	var dialed atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		dialed.Add(1)
		return nil, errors.New("unsupported protocol scheme")
	})}
	for _, base := range []string{"ftp://graph.facebook.com", "ws://127.0.0.1:1"} {
		c := New(Config{BaseURL: base, HTTPClient: hc})
		_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != ClassPermanent || ge.Unknown {
			t.Errorf("%s: send error %v, want a permanent one", base, err)
		}
		for _, err := range c.Feed(context.Background(), testToken, testPage) {
			if ClassOf(err) != ClassPermanent {
				t.Errorf("%s: feed error %v, want a permanent one", base, err)
			}
		}
	}
	if n := dialed.Load(); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCallInfoOfEachCall: the Observer hears of every call with its
// endpoint, Page, HTTP status and a duration, answered or refused.
func TestCallInfoOfEachCall(t *testing.T) {
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			writeJSON(w, 400, fixture(t, "errors/10903.json", ""))
			return
		}
		writeJSON(w, 200, []byte(`{"id":"1_2"}`))
	})
	c := f.client()
	if _, err := c.Comment(WithPageID(context.Background(), "1"), testToken, "1_2"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi"); err == nil {
		t.Fatal("send: no error")
	}
	calls := f.callInfos()
	if len(calls) != 2 {
		t.Fatalf("call infos %+v", calls)
	}
	for i, want := range []CallInfo{
		{Endpoint: EndpointObject, PageID: "1", HTTPStatus: 200},
		{Endpoint: EndpointMessages, PageID: testPage, HTTPStatus: 400, Code: 10903},
	} {
		got := calls[i]
		if got.Endpoint != want.Endpoint || got.PageID != want.PageID || got.HTTPStatus != want.HTTPStatus || got.Code != want.Code || got.Duration <= 0 {
			t.Errorf("call %d: %+v, want %+v with a duration", i, got, want)
		}
	}
}

// TestCanceledCallSaysCanceled: a call whose context is canceled says so,
// not that the connection failed.
func TestCanceledCallSaysCanceled(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"id":"1_2"}`))
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.client().Comment(ctx, testToken, "1_2")
	var ge *Error
	if !errors.As(err, &ge) || ge.Message != "canceled" || ge.Class != ClassTransient || !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want a transient one saying canceled", err)
	}
}

// TestHugeAnnouncedLengthNotAllocated: an answer announcing a body far past
// maxBody (a broken proxy's) is not given a buffer of that length: the read
// fails as a body cut short, with no more than maxBody+1 bytes read.
func TestHugeAnnouncedLengthNotAllocated(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(1<<40, 10))
		w.WriteHeader(200)
		w.Write([]byte(`{"id":"1_2"}`))
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := f.client().Comment(context.Background(), testToken, "1_2")
	runtime.ReadMemStats(&after)
	if ClassOf(err) != ClassTransient {
		t.Errorf("err %v, want a transient one", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<30 {
		t.Errorf("%d bytes allocated for the answer", grew)
	}
}

// TestErrorsCarryTheirUsage: a Graph error, and an answer too long to read,
// carry the answer's usage headers, as the Observer hears them: the worker
// paces a Page by the usage of failed calls too.
func TestErrorsCarryTheirUsage(t *testing.T) {
	const usage = `{"call_count":91,"total_cputime":3,"total_time":4}`
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{name: "graph error", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-App-Usage", usage)
			writeJSON(w, 400, fixture(t, "errors/100.json", ""))
		}},
		{name: "body too long", h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-App-Usage", usage)
			w.WriteHeader(200)
			chunk := []byte(strings.Repeat(" ", 64<<10))
			for n := 0; n <= maxBody; n += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, "", tc.h)
			_, err := f.client().Comment(context.Background(), testToken, "1_2")
			var ge *Error
			if !errors.As(err, &ge) || ge.Usage.MaxPercent != 91 {
				t.Errorf("err %v, usage %+v: want the answer's 91%%", err, ge)
			}
			if calls := f.callInfos(); len(calls) != 1 || calls[0].Usage.MaxPercent != 91 {
				t.Errorf("call infos %+v", calls)
			}
		})
	}
}

// TestGivenClientsOwnTimeoutEndsTheCall: a given client's Timeout, shorter
// than the Client's, is the one that ends a call Graph does not answer (the
// client goes through http.Client, not its transport alone). The wait is
// bounded only so that a failure does not hang.
func TestGivenClientsOwnTimeoutEndsTheCall(t *testing.T) {
	release := make(chan struct{})
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before the server's Close, which waits for the handler
	c := f.client(func(cfg *Config) {
		cfg.Timeout = time.Hour
		cfg.HTTPClient = &http.Client{Timeout: 100 * time.Millisecond}
	})
	done := make(chan error, 1)
	go func() {
		_, err := c.Comment(context.Background(), testToken, "1_2")
		done <- err
	}()
	select {
	case err := <-done:
		if ClassOf(err) != ClassTransient || !strings.Contains(err.Error(), "timeout") {
			t.Errorf("err %v, want a transient timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call outlived its client's 100ms timeout by 20s")
	}
}

// TestRedactCoversEveryField: the last redaction an error gets takes the
// token, the app secret and the proof out of each of its texts and of its
// wrapped error, whatever produced them, and keeps the wrapped error's chain.
func TestRedactCoversEveryField(t *testing.T) {
	c := New(Config{AppSecret: testSecret})
	proof := AppSecretProof(testSecret, testToken)
	for _, s := range []string{testToken, testSecret, proof} {
		cause := errors.New("cause " + s)
		e := &Error{Message: "m " + s, UserTitle: "t " + s, UserMessage: "u " + s, Type: "y " + s, FBTraceID: "f " + s, Err: cause}
		c.redact(e, testToken)
		for name, v := range map[string]string{"Message": e.Message, "UserTitle": e.UserTitle, "UserMessage": e.UserMessage, "Type": e.Type, "FBTraceID": e.FBTraceID, "Err": e.Err.Error()} {
			if strings.Contains(v, s) || !strings.Contains(v, "[redacted]") {
				t.Errorf("%s %q: want %.8s… redacted", name, v, s)
			}
		}
		if !errors.Is(e, cause) {
			t.Errorf("the wrapped error's chain is lost")
		}
	}
}

// TestTransportTimeoutSaysTimeout: a timeout that is no context's (a dial's
// i/o timeout, from a given client's dialer) is said to be a timeout, not a
// connection failure.
func TestTransportTimeoutSaysTimeout(t *testing.T) {
	hc := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	})}
	c := New(Config{BaseURL: "http://127.0.0.1:1", HTTPClient: hc})
	_, err := c.Comment(context.Background(), testToken, "1_2")
	var ge *Error
	if !errors.As(err, &ge) || ge.Message != "timeout" || ge.Class != ClassTransient {
		t.Errorf("err %v, want a transient timeout", err)
	}
}
