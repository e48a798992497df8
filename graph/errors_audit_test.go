package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestClassifyKnownCodeOn429: only a 429 without a Graph code is throttling
// by its status; a known code on a 429 keeps the class of its code.
func TestClassifyKnownCodeOn429(t *testing.T) {
	if got := Classify(100, 0, 429, false); got != ClassPermanent {
		t.Errorf("Classify(100, 0, 429) = %v, want permanent", got)
	}
}

// TestDecodeErrorLenientFields: Graph's numbers may come as strings and
// is_transient as 1; a subcode out of any int's range reads as none.
func TestDecodeErrorLenientFields(t *testing.T) {
	e := decodeError(400, "application/json", []byte(`{"error":{"message":"m","code":"4","error_subcode":1e99}}`))
	if e.Code != 4 || e.Subcode != 0 || e.Class != ClassThrottled {
		t.Errorf("string code, huge subcode: %d/%d %v, want 4/0 throttled", e.Code, e.Subcode, e.Class)
	}
	e = decodeError(400, "application/json", []byte(`{"error":{"message":"m","code":100,"is_transient":1}}`))
	if !e.IsTransient || e.Class != ClassTransient {
		t.Errorf("is_transient 1: %v %v, want transient", e.IsTransient, e.Class)
	}
}

// TestDecodeErrorClipsLongMessage: a long message is cut at a rune boundary
// to a sane length for logs.
func TestDecodeErrorClipsLongMessage(t *testing.T) {
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"message": strings.Repeat("é", 3000), "code": 100}})
	e := decodeError(400, "application/json", body)
	if len(e.Message) > 1000+len("…") || !utf8.ValidString(e.Message) || !strings.HasSuffix(e.Message, "…") {
		t.Errorf("message of %d bytes not clipped whole: %q...", len(e.Message), e.Message[:20])
	}
}

// TestErrorSaysOutcomeUnknown: the one-line description tells a send whose
// outcome is unknown.
func TestErrorSaysOutcomeUnknown(t *testing.T) {
	e := &Error{Message: "m", Class: ClassTransient, Unknown: true}
	if !strings.Contains(e.Error(), "outcome unknown") {
		t.Errorf("%q does not say the outcome is unknown", e.Error())
	}
}

// TestClassNames: the class names are metric labels and pause reasons that
// the worker and the ledger share.
func TestClassNames(t *testing.T) {
	want := map[Class]string{ClassNone: "none", ClassThrottled: "throttled", ClassTransient: "transient",
		ClassAlreadyReplied: "already_replied", ClassPermanent: "permanent", ClassPageBroken: "page_broken"}
	for c, s := range want {
		if c.String() != s {
			t.Errorf("Class(%d) = %q, want %q", int(c), c.String(), s)
		}
	}
}

// TestRetryAfterCappedNotWrapped: a Retry-After beyond a day, in seconds
// too many for a Duration or as a date, waits a day: never nothing.
func TestRetryAfterCappedNotWrapped(t *testing.T) {
	now := time.Date(2025, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"9223372037", now.Add(48 * time.Hour).Format(http.TimeFormat)} {
		if got := retryAfter(http.Header{"Retry-After": {v}}, now); got != maxRegain {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, maxRegain)
		}
	}
}

// TestUsageLongestRegainInOneList: of several times to regain access in one
// header, the longest counts, whichever comes first.
func TestUsageLongestRegainInOneList(t *testing.T) {
	h := http.Header{"X-Business-Use-Case-Usage": {`{"1":[{"type":"pages","call_count":1,"estimated_time_to_regain_access":5},{"type":"messenger","call_count":2,"estimated_time_to_regain_access":30}]}`}}
	if got := ParseUsage(h); got.RegainAccess != 30*time.Minute {
		t.Errorf("RegainAccess %v, want 30m", got.RegainAccess)
	}
}

// TestTimeOutOfRange: times before year 1, which TimeLayout cannot write
// back, are refused whether written as a date or as Unix seconds.
func TestTimeOutOfRange(t *testing.T) {
	for _, in := range []string{`"0000-06-01T00:00:00+0000"`, `-62135596801`} {
		var v Time
		if err := json.Unmarshal([]byte(in), &v); err == nil {
			t.Errorf("%s decoded to %v", in, v.Time)
		}
	}
}

// TestBodyCutShortKeepsUsage: an answer whose body is cut short still says
// what its usage headers said, so a Page at its limit stops calling.
func TestBodyCutShortKeepsUsage(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Page-Usage", `{"call_count":97,"total_cputime":1,"total_time":1}`)
		w.Header().Set("Content-Length", "500")
		writeJSON(w, 500, []byte(`{"error":{"message":"x","code":1`))
	})
	_, err := f.client().Comment(context.Background(), testToken, "1_2")
	var ge *Error
	if !errors.As(err, &ge) || ge.Usage.MaxPercent != 97 || !ge.Usage.Throttled() {
		t.Errorf("err %v, usage %+v, want MaxPercent 97", err, ge)
	}
}
