package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestErrorStringNamesSubcodeAndWait: the one-line description names the
// subcode (code 10 is a Page's permission or one person's window, told apart
// only by it) and how long the Page waits.
func TestErrorStringNamesSubcodeAndWait(t *testing.T) {
	e := &Error{Code: 10, Subcode: 2018278, Message: "m", Class: ClassPermanent, RetryAfter: 15 * time.Minute}
	for _, want := range []string{"code 10/2018278", "retry after 15m0s"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q does not say %q", e.Error(), want)
		}
	}
	if e := (&Error{Code: 1, Message: "m", Class: ClassTransient}); !strings.Contains(e.Error(), "[code 1, ") {
		t.Errorf("%q does not name code 1", e.Error())
	}
}

// TestGraphAnswerClassedByItsStatus: a Graph error envelope is classed with
// the answer's HTTP status: an unlisted code on a 500 is Graph failing (a
// send's outcome unknown, retried after a check, never archived), and a 429
// without a code is throttling.
func TestGraphAnswerClassedByItsStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   Class
	}{
		{500, `{"error":{"message":"Invalid parameter","type":"GraphMethodException","code":100}}`, ClassTransient},
		{429, `{"error":{"message":"Too many requests"}}`, ClassThrottled},
	} {
		f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, tc.status, []byte(tc.body))
		})
		_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
		var ge *Error
		if !errors.As(err, &ge) || ge.Class != tc.want || ge.Unknown != (tc.status >= 500) {
			t.Errorf("HTTP %d: err %v, want %v (outcome unknown: %v)", tc.status, err, tc.want, tc.status >= 500)
		}
	}
}

// TestCode2IsTransientWithoutTheFlag: code 2, "Service temporarily
// unavailable", is transient by its code (SPEC.md) on any status, even
// without is_transient; on a send its outcome is unknown, never archived.
func TestCode2IsTransientWithoutTheFlag(t *testing.T) {
	if got := Classify(2, 0, 400, false); got != ClassTransient {
		t.Errorf("Classify(2, 0, 400, false) = %v, want transient", got)
	}
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, []byte(`{"error":{"message":"(#2) Service temporarily unavailable","type":"OAuthException","code":2}}`))
	})
	_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.Class != ClassTransient || !ge.Unknown {
		t.Errorf("err %v, want transient with the outcome unknown", err)
	}
}

// TestClassOfEachWrappedSentinel: a sentinel wrapped by a caller keeps its
// class; an "already replied" above all, which is done, not a failure.
func TestClassOfEachWrappedSentinel(t *testing.T) {
	for _, c := range []Class{ClassThrottled, ClassTransient, ClassAlreadyReplied, ClassPermanent, ClassPageBroken} {
		if got := ClassOf(fmt.Errorf("send: %w", sentinel(c))); got != c {
			t.Errorf("ClassOf(wrapped %v) = %v", sentinel(c), got)
		}
	}
}

// TestNonexistingFieldOnlyUnderCode100: the refusal of a field is Graph's
// code 100; the same words under another code (a transient failure) are not
// it, and do not make the worker send a reply again unchecked.
func TestNonexistingFieldOnlyUnderCode100(t *testing.T) {
	const msg = "(#100) Tried accessing nonexisting field (private_reply_conversation) on node type (Post)"
	if !NonexistingField(fmt.Errorf("x: %w", &Error{Code: 100, Message: msg}), "private_reply_conversation") {
		t.Error("code 100 refusing the field not recognised")
	}
	if NonexistingField(&Error{Code: 1, Message: msg, Class: ClassTransient}, "private_reply_conversation") {
		t.Error("code 1 taken for a refused field")
	}
	if NonexistingField(&Error{Code: 100, Message: msg}, "id") {
		t.Error("another field's refusal taken for this one's")
	}
}

// TestDecodeErrorClipsEveryField: every string taken from an answer is cut
// to a sane length for logs, the content type included.
func TestDecodeErrorClipsEveryField(t *testing.T) {
	long := strings.Repeat("x", 5000)
	body := []byte(`{"error":{"message":"m","type":"` + long + `","error_user_title":"` + long + `","error_user_msg":"` + long + `","code":100,"fbtrace_id":"` + long + `"}}`)
	e := decodeError(400, "application/json", body)
	for name, s := range map[string]string{"type": e.Type, "user title": e.UserTitle, "user message": e.UserMessage, "fbtrace": e.FBTraceID} {
		if len(s) > 1000+len("…") {
			t.Errorf("%s of %d bytes not clipped", name, len(s))
		}
	}
	e = decodeError(502, "text/"+long, []byte("<html>"))
	if len(e.Message) > 1100 {
		t.Errorf("message of %d bytes with a long content type", len(e.Message))
	}
}

// TestClipAtRuneBoundaryWhateverTheOffset: a cut that falls inside a
// multi-byte character steps back to its start.
func TestClipAtRuneBoundaryWhateverTheOffset(t *testing.T) {
	for _, prefix := range []string{"", "a", "ab"} {
		if s := clip(prefix + strings.Repeat("€", 1000)); !utf8.ValidString(s) || !strings.HasSuffix(s, "…") {
			t.Errorf("prefix %q: clipped to invalid UTF-8 or not clipped", prefix)
		}
	}
}

// TestDecodeErrorNaNCode: a code or subcode "NaN" reads as none, not as
// whatever a NaN converts to.
func TestDecodeErrorNaNCode(t *testing.T) {
	e := decodeError(400, "application/json", []byte(`{"error":{"message":"m","code":"NaN","error_subcode":"NaN"}}`))
	if e.Code != 0 || e.Subcode != 0 {
		t.Errorf("code %d/%d, want 0/0", e.Code, e.Subcode)
	}
}

// TestNonGraphAnswerNamesItsContentType: an answer that is not Graph's says
// what it was, so an operator can tell a proxy's page from Graph.
func TestNonGraphAnswerNamesItsContentType(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(502)
		w.Write([]byte("<html>bad gateway</html>"))
	})
	_, err := f.client().Comment(context.Background(), testToken, "1_2")
	if err == nil || !strings.Contains(err.Error(), "HTTP 502 with a non-JSON body (24 bytes, text/html)") {
		t.Errorf("err %v", err)
	}
}

// TestTransportErrorNamingTheTokenRedacted: a given client's transport (a
// proxy, an instrumenting wrapper) may name the token in its error: the
// error the Client returns never does.
func TestTransportErrorNamingTheTokenRedacted(t *testing.T) {
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, errors.New("proxy refused " + r.Header.Get("Authorization") + " " + r.URL.Query().Get("appsecret_proof"))
	})}
	c := New(Config{BaseURL: "http://127.0.0.1:1", AppSecret: testSecret, HTTPClient: hc})
	_, err := c.Comment(context.Background(), testToken, "1_2")
	if err == nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), AppSecretProof(testSecret, testToken)) {
		t.Errorf("err %v", err)
	}
}

// TestDeadlinePassedSaysTimeout: a transport that fails in its own words
// once the call's deadline has passed still makes the error say timeout.
func TestDeadlinePassedSaysTimeout(t *testing.T) {
	t.Parallel()
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		<-r.Context().Done()
		return nil, errors.New("stream reset")
	})}
	c := New(Config{BaseURL: "http://127.0.0.1:1", HTTPClient: hc, Timeout: 20 * time.Millisecond})
	_, err := c.Comment(context.Background(), testToken, "1_2")
	var ge *Error
	if !errors.As(err, &ge) || ge.Message != "timeout" || ge.Class != ClassTransient {
		t.Errorf("err %v, want a transient timeout", err)
	}
}
