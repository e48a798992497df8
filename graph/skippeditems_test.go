package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestListingSkipsUnreadableItems: a comment Graph sends in another shape
// than the rest (can_reply_privately as a string) is left out and reported
// with the page's count, while the page's other comments and the pages after
// it are read; a first page none of whose items can be read is an error, as
// is a page whose envelope cannot be, while a later one (the last page of a
// post, holding only the odd comment) is skipped as a whole: the listing has
// read Graph's shape already. The report carries no token.
func TestListingSkipsUnreadableItems(t *testing.T) {
	const good = `{"id":"p_1_%s","created_time":"2026-12-04T10:00:00+0000","can_reply_privately":true,"message":"hi"}`
	bad := `{"id":"p_1_bad","created_time":"2026-12-04T10:00:00+0000","can_reply_privately":"true","message":"` + testToken + `"}`
	item := func(id string) string { return strings.Replace(good, "%s", id, 1) }
	for _, tc := range []struct {
		name      string
		pages     []string // the listing's pages: each a data array's items, then any more of the envelope
		wantIDs   []string
		wantSkips [][]string // the ids skipped, by page that held any
		wantErr   bool
	}{
		{name: "one bad item among good ones", pages: []string{item("a") + "," + bad + "," + item("b"), item("c")},
			wantIDs: []string{"p_1_a", "p_1_b", "p_1_c"}, wantSkips: [][]string{{"p_1_bad"}}},
		{name: "bad items whose ids are unreadable or hold the token", pages: []string{item("a") + "," + strings.Replace(bad, `"p_1_bad"`, `"`+testToken+`"`, 1) + "," +
			strings.Replace(bad, `"p_1_bad"`, `7`, 1) + "," + item("b")},
			wantIDs: []string{"p_1_a", "p_1_b"}, wantSkips: [][]string{{"[redacted]", ""}}},
		{name: "a first page of bad items only", pages: []string{bad + "," + bad, item("c")},
			wantErr: true},
		{name: "a later page of bad items only", pages: []string{item("a"), bad + "," + bad, item("c")},
			wantIDs: []string{"p_1_a", "p_1_c"}, wantSkips: [][]string{{"p_1_bad", "p_1_bad"}}},
		{name: "a last page of one bad item", pages: []string{item("a") + "," + item("b"), bad},
			wantIDs: []string{"p_1_a", "p_1_b"}, wantSkips: [][]string{{"p_1_bad"}}},
		{name: "a bad item in a broken envelope", pages: []string{item("a"), bad + "," + item("b") + `],"summary":{"order":5}`},
			wantIDs: []string{"p_1_a"}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f *fakeGraph
			f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				n := 0
				if a := r.URL.Query().Get("after"); a != "" {
					n = int(a[0] - '0')
				}
				data, more, _ := strings.Cut(tc.pages[n], "],")
				body := `{"data":[` + data + `]`
				if more != "" {
					body += `,` + more
				}
				if n+1 < len(tc.pages) {
					after := string(rune('0' + n + 1))
					body += `,"paging":{"cursors":{"after":"` + after + `"},"next":"` + f.URL + `/v25.0/p_1/comments?after=` + after + `"}`
				}
				writeJSON(w, 200, []byte(body+`}`))
			})
			var skips [][]string
			ctx := WithSkippedItems(context.Background(), func(endpoint, object string, ids []string, err error) {
				var ge *Error
				if endpoint != EndpointComments || object != "p_1" || !errors.As(err, &ge) || strings.Contains(err.Error(), testToken) {
					t.Errorf("skipped(%q, %q, %q, %v): want the comments endpoint, the post and a *graph.Error without the token", endpoint, object, ids, err)
				}
				skips = append(skips, ids)
			})
			var ids []string
			var gotErr error
			for c, err := range f.client().Comments(ctx, testToken, "p_1") {
				if err != nil {
					gotErr = err
					continue
				}
				ids = append(ids, c.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") {
				t.Errorf("comments %v, want %v", ids, tc.wantIDs)
			}
			if (gotErr != nil) != tc.wantErr {
				t.Errorf("error %v, want one: %v", gotErr, tc.wantErr)
			}
			if gotErr != nil && strings.Contains(gotErr.Error(), testToken) {
				t.Errorf("the error shows the token: %v", gotErr)
			}
			if fmt.Sprintf("%q", skips) != fmt.Sprintf("%q", tc.wantSkips) {
				t.Errorf("skipped %q, want %q", skips, tc.wantSkips)
			}
		})
	}
}
