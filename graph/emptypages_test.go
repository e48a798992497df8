package graph

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEmptyPagesWithoutEnd checks that a listing whose pages come back empty
// without end, each with a new paging.next (a Graph fault seen in the wild),
// stops after maxEmptyPages reads with a permanent error, while a shorter run
// of empty pages followed by items is read through (Graph filters a page
// after cutting it, so an empty page can have more after it).
func TestEmptyPagesWithoutEnd(t *testing.T) {
	for _, tc := range []struct {
		name      string
		empties   int // empty pages before one with an item; -1: without end
		wantReads int64
		wantItems int
		wantErr   bool
	}{
		{name: "without end", empties: -1, wantReads: maxEmptyPages, wantErr: true},
		{name: "a run short of the limit, then items", empties: maxEmptyPages - 1, wantReads: maxEmptyPages, wantItems: 1},
		{name: "empty pages between items", empties: 3, wantReads: 4, wantItems: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				f     *fakeGraph
				reads atomic.Int64
			)
			f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				n := reads.Add(1)
				if n > 1000 {
					t.Error("listing still reading after 1000 pages")
					writeJSON(w, 200, []byte(`{"data":[]}`))
					return
				}
				next := f.URL + "/v25.0/p/feed?after=c" + strconv.FormatInt(n, 10)
				if tc.empties >= 0 && n == int64(tc.empties)+1 {
					writeJSON(w, 200, []byte(`{"data":[{"id":"p_1","created_time":"2026-12-04T10:00:00+0000"}]}`))
					return
				}
				writeJSON(w, 200, []byte(`{"data":[],"paging":{"cursors":{"after":"c`+strconv.FormatInt(n, 10)+`"},"next":"`+next+`"}}`))
			})
			items := 0
			var gotErr error
			for _, err := range f.client().Feed(context.Background(), testToken, "p") {
				if err != nil {
					gotErr = err
					continue
				}
				items++
			}
			if got := reads.Load(); got != tc.wantReads {
				t.Errorf("reads %d, want %d", got, tc.wantReads)
			}
			if items != tc.wantItems {
				t.Errorf("items %d, want %d", items, tc.wantItems)
			}
			switch {
			case tc.wantErr && (ClassOf(gotErr) != ClassPermanent || !strings.Contains(gotErr.Error(), "pages in a row came back empty")):
				t.Errorf("error %v, want a permanent one about empty pages", gotErr)
			case !tc.wantErr && gotErr != nil:
				t.Errorf("error %v", gotErr)
			}
		})
	}
}
