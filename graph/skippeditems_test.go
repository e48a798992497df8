package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestListingSkipsUnreadableItems: a comment Graph sends in another shape
// than the rest (can_reply_privately as a string) is left out and reported
// with the page's count, while the page's other comments and the pages after
// it are read; a page none of whose items can be read is an error, as is a
// page whose envelope cannot be. The report carries no token.
func TestListingSkipsUnreadableItems(t *testing.T) {
	const good = `{"id":"p_1_%s","created_time":"2026-12-04T10:00:00+0000","can_reply_privately":true,"message":"hi"}`
	bad := `{"id":"p_1_bad","created_time":"2026-12-04T10:00:00+0000","can_reply_privately":"true","message":"` + testToken + `"}`
	item := func(id string) string { return strings.Replace(good, "%s", id, 1) }
	for _, tc := range []struct {
		name      string
		pages     []string // the listing's pages: each a data array's items, then any more of the envelope
		wantIDs   []string
		wantSkips []int
		wantErr   bool
	}{
		{name: "one bad item among good ones", pages: []string{item("a") + "," + bad + "," + item("b"), item("c")},
			wantIDs: []string{"p_1_a", "p_1_b", "p_1_c"}, wantSkips: []int{1}},
		{name: "a page of bad items only", pages: []string{item("a"), bad + "," + bad, item("c")},
			wantIDs: []string{"p_1_a"}, wantErr: true},
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
			var skips []int
			ctx := WithSkippedItems(context.Background(), func(endpoint string, n int, err error) {
				var ge *Error
				if endpoint != EndpointComments || !errors.As(err, &ge) || strings.Contains(err.Error(), testToken) {
					t.Errorf("skipped(%q, %d, %v): want the comments endpoint and a *graph.Error without the token", endpoint, n, err)
				}
				skips = append(skips, n)
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
			if len(skips) != len(tc.wantSkips) || len(skips) > 0 && skips[0] != tc.wantSkips[0] {
				t.Errorf("skipped %v, want %v", skips, tc.wantSkips)
			}
		})
	}
}
