package graph

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestNoTokenHeadInListingDecodeError: a listing item whose created_time
// cannot be read is quoted, clipped to 1,000 bytes, in its decode error; with
// the token straddling the clip, redacting the error afterwards no longer
// found it whole and its head stayed. Both the error of a skipped item and
// that of a page none of whose items can be read hold no part of the token.
func TestNoTokenHeadInListingDecodeError(t *testing.T) {
	leaks := func(err error) int {
		for n := len(testToken); n >= 8; n-- {
			if strings.Contains(err.Error(), testToken[:n]) {
				return n
			}
		}
		return 0
	}
	for at := 1000 - len(testToken) - 1; at < 1000; at++ {
		bad := `{"id":"1_9","created_time":"` + strings.Repeat("x", at) + testToken + `"}`
		for _, tc := range []struct {
			name, data string
		}{
			{"skipped item", `{"id":"1_2","created_time":"2026-12-01T10:00:00+0000","message":"hi"},` + bad},
			{"page of one bad item", bad},
		} {
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, []byte(`{"data":[`+tc.data+`]}`))
			})
			var skipErr error
			ctx := WithSkippedItems(context.Background(), func(_, _ string, _ []string, err error) { skipErr = err })
			var listErr error
			for _, err := range f.client().Comments(ctx, testToken, "1") {
				if err != nil {
					listErr = err
				}
			}
			for _, err := range []error{skipErr, listErr} {
				if err == nil {
					continue
				}
				if n := leaks(err); n > 0 {
					t.Fatalf("%s, token at %d: its first %d characters are in the error %q", tc.name, at, n, err)
				}
			}
			if skipErr == nil && listErr == nil {
				t.Fatalf("%s, token at %d: no error for the unreadable item", tc.name, at)
			}
		}
	}
}
