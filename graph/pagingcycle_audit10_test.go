package graph

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestPagingCycleEnds: a listing whose paging.next links go round in a
// circle (page A's next leads to B, B's back to A), each page holding items,
// as cursor paging has been seen to do, used to be read without end: only a
// link to the very page just read was caught, and the empty-page guard never
// fires on pages with items. A poll read the same pages at the Page's whole
// read rate for the poll's 24 hours. A link back to any page the listing
// has read ends it with a permanent error, after each page's items were
// yielded once.
func TestPagingCycleEnds(t *testing.T) {
	var (
		f     *fakeGraph
		reads atomic.Int64
	)
	f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if reads.Add(1) > 100 {
			t.Error("listing still reading after 100 pages")
			writeJSON(w, 200, []byte(`{"data":[]}`))
			return
		}
		// first page -> A -> B -> A -> ...
		switch r.URL.Query().Get("after") {
		case "", "QUJD":
			writeJSON(w, 200, []byte(`{"data":[{"id":"p_1","created_time":"2026-12-04T10:00:00+0000"}],`+
				`"paging":{"cursors":{"after":"REVG"},"next":"`+f.URL+`/v25.0/p/feed?limit=100&after=REVG"}}`))
		default:
			writeJSON(w, 200, []byte(`{"data":[{"id":"p_2","created_time":"2026-12-03T10:00:00+0000"}],`+
				`"paging":{"cursors":{"after":"QUJD"},"next":"`+f.URL+`/v25.0/p/feed?limit=100&after=QUJD"}}`))
		}
	})
	var ids []string
	var gotErr error
	for p, err := range f.client().Feed(context.Background(), testToken, "p") {
		if err != nil {
			gotErr = err
			continue
		}
		ids = append(ids, p.ID)
	}
	if got := reads.Load(); got != 3 {
		t.Errorf("reads %d, want 3 (first page, A's next, B's next; then the link back to B's next is seen)", got)
	}
	if strings.Join(ids, ",") != "p_1,p_2,p_1" {
		t.Errorf("items %v, want p_1,p_2,p_1", ids)
	}
	if ClassOf(gotErr) != ClassPermanent || !strings.Contains(gotErr.Error(), "paging.next does not lead to a new page") {
		t.Errorf("error %v, want a permanent one about paging.next", gotErr)
	}
}
