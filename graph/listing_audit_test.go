package graph

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// Second mutation audit of paging.go: cursor fallback, empty ids, the page
// gate, the empty-page count, skipped items' reports and credentials in an
// answer's body.

// TestListingFallsBackToTheCursor: a paging.next that names no page (it does
// not parse, or has no path) is followed by asking the current URL for the
// page after the after cursor; without a cursor the listing stops with a
// permanent error after the one read, asking nothing more.
func TestListingFallsBackToTheCursor(t *testing.T) {
	for _, tc := range []struct {
		name, next, after string
		wantIDs           string
		wantReads         int
		wantErr           bool
	}{
		{name: "unparsable next", next: "::", after: "c2", wantIDs: "p_1 p_2", wantReads: 2},
		{name: "next without a path", next: "?after=elsewhere", after: "c2", wantIDs: "p_1 p_2", wantReads: 2},
		{name: "unparsable next, no cursor", next: "::", wantIDs: "p_1", wantReads: 1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var reads atomic.Int32
			f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
				n := reads.Add(1)
				if n > 5 {
					writeJSON(w, 400, []byte(`{"error":{"message":"too many reads","code":100}}`))
					return
				}
				if r.URL.Path != "/v25.0/p/feed" || r.URL.Query().Get("limit") != "100" {
					t.Errorf("read %d: %s, want the feed's URL", n, r.URL)
				}
				switch r.URL.Query().Get("after") {
				case "":
					paging := `"next":"` + tc.next + `"`
					if tc.after != "" {
						paging += `,"cursors":{"after":"` + tc.after + `"}`
					}
					writeJSON(w, 200, []byte(`{"data":[{"id":"p_1"}],"paging":{`+paging+`}}`))
				case "c2":
					writeJSON(w, 200, []byte(`{"data":[{"id":"p_2"}]}`))
				default:
					t.Errorf("read %d: %s", n, r.URL)
					writeJSON(w, 400, []byte(`{"error":{"message":"bad cursor","code":100}}`))
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
			if got := strings.Join(ids, " "); got != tc.wantIDs {
				t.Errorf("posts %q, want %q", got, tc.wantIDs)
			}
			if got := int(reads.Load()); got != tc.wantReads {
				t.Errorf("%d reads, want %d", got, tc.wantReads)
			}
			switch {
			case tc.wantErr && (ClassOf(gotErr) != ClassPermanent || !strings.Contains(gotErr.Error(), "does not lead to a new page")):
				t.Errorf("error %v, want a permanent one about paging.next", gotErr)
			case !tc.wantErr && gotErr != nil:
				t.Errorf("error %v", gotErr)
			}
		})
	}
}

// TestLoopingNextLinkErrorHasNoToken: a paging.next that leads back to the
// page just read ends the listing, and the error says so without quoting the
// link, which carries the token as Graph writes it.
func TestLoopingNextLinkErrorHasNoToken(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		next := f.URL + "/v25.0/p/feed?after=x&limit=100&fields=" + strings.ReplaceAll(postFields, ",", "%2C") + "&access_token=" + testToken + "&appsecret_proof=" + AppSecretProof(testSecret, testToken)
		writeJSON(w, 200, []byte(`{"data":[{"id":"p_1"}],"paging":{"next":"`+next+`"}}`))
	})
	var gotErr error
	for _, err := range f.client().Feed(context.Background(), testToken, "p") {
		if err != nil {
			gotErr = err
		}
	}
	if ClassOf(gotErr) != ClassPermanent {
		t.Fatalf("error %v, want a permanent one", gotErr)
	}
	for _, s := range []string{testToken, AppSecretProof(testSecret, testToken), "access_token"} {
		if strings.Contains(gotErr.Error(), s) {
			t.Errorf("error %q holds %q", gotErr, s)
		}
	}
}

// TestListingWithoutIDNotRead: a listing of an empty id is refused with a
// permanent error, not read as GET /{version}//feed.
func TestListingWithoutIDNotRead(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"data":[]}`))
	})
	c := f.client()
	ctx := context.Background()
	lists := map[string]func(yield func(error)){
		"feed": func(y func(error)) {
			for _, err := range c.Feed(ctx, testToken, "") {
				y(err)
			}
		},
		"comments": func(y func(error)) {
			for _, err := range c.Comments(ctx, testToken, "") {
				y(err)
			}
		},
		"conversations": func(y func(error)) {
			for _, err := range c.Conversations(ctx, testToken, "") {
				y(err)
			}
		},
	}
	for name, list := range lists {
		var errs []error
		list(func(err error) { errs = append(errs, err) })
		if len(errs) != 1 || ClassOf(errs[0]) != ClassPermanent {
			t.Errorf("%s of \"\": %v, want one permanent error", name, errs)
		}
	}
	if reqs := f.requests(); len(reqs) != 0 {
		t.Errorf("requests %v", reqs)
	}
}

// TestPageGateBeforeEachPage: the page gate is called before every page's
// read, the first included, and an error from it ends the listing with that
// error as it is, before the page is read.
func TestPageGateBeforeEachPage(t *testing.T) {
	f := feedServer(t, "")
	var gates []int // the reads made when the gate was called
	stop := errors.New("paused")
	for _, tc := range []struct {
		name      string
		failAt    int // the gate's call that fails; 0: none
		wantGates []int
		wantItems int
	}{
		{name: "every page", wantGates: []int{0, 1, 2}, wantItems: 5},
		{name: "stops before the second page", failAt: 2, wantGates: []int{0, 1}, wantItems: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gates = nil
			calls := 0
			before := len(f.requests())
			ctx := WithPageGate(context.Background(), func(ctx context.Context) error {
				calls++
				gates = append(gates, len(f.requests())-before)
				if calls == tc.failAt {
					return stop
				}
				return nil
			})
			items := 0
			var gotErr error
			for _, err := range f.client().Feed(ctx, testToken, testPage) {
				if err != nil {
					gotErr = err
					continue
				}
				items++
			}
			if !equalInts(gates, tc.wantGates) {
				t.Errorf("reads made at each gate call: %v, want %v", gates, tc.wantGates)
			}
			if items != tc.wantItems {
				t.Errorf("%d posts, want %d", items, tc.wantItems)
			}
			if tc.failAt > 0 && gotErr != stop {
				t.Errorf("error %v, want the gate's own", gotErr)
			}
			if tc.failAt == 0 && gotErr != nil {
				t.Errorf("error %v", gotErr)
			}
			if got := len(f.requests()) - before; got != len(tc.wantGates)-min(tc.failAt, 1) {
				t.Errorf("%d reads", got)
			}
		})
	}
}

// TestEmptyPagesCountedInARow: only empty pages in a row count toward
// maxEmptyPages: runs of empty pages shorter than it, with items between
// them, are read through, however many empty pages there are in all.
func TestEmptyPagesCountedInARow(t *testing.T) {
	run := maxEmptyPages - 2
	var (
		f     *fakeGraph
		reads atomic.Int64
	)
	const pages = 3*(maxEmptyPages-2) + 3 // three runs, each followed by a page of one item
	f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		n := reads.Add(1)
		if n > pages {
			t.Errorf("read %d, past the last page", n)
			writeJSON(w, 200, []byte(`{"data":[]}`))
			return
		}
		data := ""
		if n%int64(run+1) == 0 {
			data = `{"id":"p_` + strconv.FormatInt(n, 10) + `"}`
		}
		paging := ""
		if n < pages {
			next := f.URL + "/v25.0/p/feed?after=c" + strconv.FormatInt(n, 10)
			paging = `,"paging":{"next":"` + next + `"}`
		}
		writeJSON(w, 200, []byte(`{"data":[`+data+`]`+paging+`}`))
	})
	items := 0
	for _, err := range f.client().Feed(context.Background(), testToken, "p") {
		if err != nil {
			t.Fatalf("after %d reads: %v", reads.Load(), err)
		}
		items++
	}
	if items != 3 || reads.Load() != pages {
		t.Errorf("%d posts in %d reads, want 3 in %d", items, reads.Load(), pages)
	}
}

// TestSkippedItemsReport: a page's skipped items are reported with the first
// one's reason, and an id too long to log whole is clipped as the errors'
// quotes are.
func TestSkippedItemsReport(t *testing.T) {
	longID := strings.Repeat("9", 5000)
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"data":[{"id":"p_1"},{"id":"p_2","can_reply_privately":"yes"},{"id":"`+longID+`","message":5}]}`))
	})
	var reports int
	ctx := WithSkippedItems(context.Background(), func(_, _ string, ids []string, err error) {
		reports++
		if len(ids) != 2 || ids[0] != "p_2" || len(ids[1]) > 1010 || !strings.HasPrefix(ids[1], "999") {
			t.Errorf("ids %.40q (of %d bytes), want p_2 and the long id clipped", ids, len(ids[1]))
		}
		if msg := err.Error(); !strings.Contains(msg, "can_reply_privately") || strings.Contains(msg, "message") {
			t.Errorf("reason %q, want the first skipped item's", msg)
		}
	})
	var ids []string
	for c, err := range f.client().Comments(ctx, testToken, "p_1") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	if reports != 1 || len(ids) != 1 || ids[0] != "p_1" {
		t.Errorf("%d reports, comments %v", reports, ids)
	}
}

// TestAnswerReadableOnlyWithoutCredential: a page that can be read once the
// token in it is redacted, and not as it came, is not taken for a page of no
// items: its read fails, and an item that fails the same way is reported
// skipped with that reason ("answer holds a credential"). The token here
// spells what breaks the answer's JSON, as one mangled in a configuration
// could.
func TestAnswerReadableOnlyWithoutCredential(t *testing.T) {
	for _, tc := range []struct {
		name, token, body string
		wantErr, wantSkip bool
	}{
		// The token's backslash is no JSON escape: the page cannot be read,
		// and redacted it holds one item.
		{name: "page", token: `EAAB\qtok`, body: `{"data":[{"id":"p_1","message":"hi EAAB\qtok"}],"paging":{"next":"x"}}`, wantErr: true},
		// The token is a number where a string goes: that item cannot be
		// read, and redacted the page no longer parses.
		{name: "item", token: `8675309123`, body: `{"data":[{"id":"p_1"},{"id":"p_2","message":8675309123}]}`, wantSkip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, 200, []byte(tc.body))
			}))
			defer srv.Close()
			var skipErr error
			ctx := WithSkippedItems(context.Background(), func(_, _ string, _ []string, err error) { skipErr = err })
			var listErr error
			n := 0
			for _, err := range New(Config{BaseURL: srv.URL}).Comments(ctx, tc.token, "p_1") {
				if err != nil {
					listErr = err
					continue
				}
				n++
			}
			for name, err := range map[string]error{"listing": listErr, "skip": skipErr} {
				want := map[string]bool{"listing": tc.wantErr, "skip": tc.wantSkip}[name]
				switch {
				case want && (err == nil || !strings.Contains(err.Error(), "answer holds a credential")):
					t.Errorf("%s error %v, want one saying the answer holds a credential", name, err)
				case !want && err != nil:
					t.Errorf("%s error %v", name, err)
				case err != nil && strings.Contains(err.Error(), tc.token):
					t.Errorf("%s error %q holds the token", name, err)
				}
			}
			if wantN := map[bool]int{true: 0, false: 1}[tc.wantErr]; n != wantN {
				t.Errorf("%d comments, want %d", n, wantN)
			}
		})
	}
}

// TestNextLinkWithThePrefixAlready: behind a proxy that writes its own path
// prefix into the next links, a link that starts with the base URL's prefix
// is followed as it is, not under the prefix twice.
func TestNextLinkWithThePrefixAlready(t *testing.T) {
	var f *fakeGraph
	f = newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/graph/v25.0/p/feed":
		default:
			t.Errorf("request %s, want it under /graph/v25.0/", r.URL.Path)
			writeJSON(w, 404, nil)
			return
		}
		if r.URL.Query().Get("after") == "" {
			writeJSON(w, 200, []byte(`{"data":[{"id":"p_1"}],"paging":{"next":"`+f.URL+`/graph/v25.0/p/feed?after=x&access_token=`+testToken+`"}}`))
			return
		}
		writeJSON(w, 200, []byte(`{"data":[{"id":"p_2"}]}`))
	})
	c := f.client(func(cfg *Config) { cfg.BaseURL = f.URL + "/graph" })
	n := 0
	for _, err := range c.Feed(context.Background(), testToken, "p") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}

// TestNextLinkFragmentIgnored: a next link's fragment never reaches Graph, so
// it does not make a link new: a link back to the page just read, under a
// new fragment each time, ends the listing as a loop.
func TestNextLinkFragmentIgnored(t *testing.T) {
	var (
		f     *fakeGraph
		reads atomic.Int32
	)
	f = newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		n := reads.Add(1)
		if n > 5 {
			writeJSON(w, 400, []byte(`{"error":{"message":"too many reads","code":100}}`))
			return
		}
		next := f.URL + "/v25.0/p/feed?after=x#" + strconv.Itoa(int(n))
		writeJSON(w, 200, []byte(`{"data":[{"id":"p_`+strconv.Itoa(int(n))+`"}],"paging":{"next":"`+next+`"}}`))
	})
	var gotErr error
	for _, err := range f.client().Feed(context.Background(), testToken, "p") {
		if err != nil {
			gotErr = err
		}
	}
	if reads.Load() != 2 || ClassOf(gotErr) != ClassPermanent || !strings.Contains(gotErr.Error(), "does not lead to a new page") {
		t.Errorf("%d reads, error %v: want 2 reads and the loop's error", reads.Load(), gotErr)
	}
}
