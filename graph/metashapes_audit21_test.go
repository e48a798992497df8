package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Answers shaped as Meta documents them (Graph API reference: paging,
// error handling, rate limiting), which the sandbox does not all produce.

func feedIDs(t *testing.T, c *Client) ([]string, error) {
	t.Helper()
	var ids []string
	for p, err := range c.Feed(context.Background(), testToken, testPage) {
		if err != nil {
			return ids, err
		}
		ids = append(ids, p.ID)
	}
	return ids, nil
}

// TestCursorsWithoutNextEnd_audit21: Meta's paging reference: "next ... If
// not included, this is the last page of data"; a page with cursors but no
// next is the last one, read once.
func TestCursorsWithoutNextEnd_audit21(t *testing.T) {
	var n atomic.Int32
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		writeJSON(w, 200, []byte(`{"data":[{"id":"`+testPage+`_1","created_time":"2026-12-08T01:02:03+0000"}],"paging":{"cursors":{"before":"QVFIUm","after":"QVFIUn"}}}`))
	})
	ids, err := feedIDs(t, f.client())
	if err != nil || len(ids) != 1 || n.Load() != 1 {
		t.Fatalf("ids %v err %v in %d calls, want 1 item in 1 call", ids, err, n.Load())
	}
}

// TestNextOtherHostWithTokenEmptyData_audit21: a next link on another host
// carrying access_token, after a page with empty data, is followed on the
// configured host without the token (fakeGraph fails any URL with it); a
// later error says nothing of the token.
func TestNextOtherHostWithTokenEmptyData_audit21(t *testing.T) {
	var n atomic.Int32
	f := newFakeGraph(t, testSecret, func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			writeJSON(w, 200, []byte(`{"data":[],"paging":{"cursors":{"after":"A1"},"next":"https://graph.facebook.com/v25.0/`+testPage+`/feed?access_token=`+testToken+`&limit=100&after=A1"}}`))
		case 2:
			writeJSON(w, 200, []byte(`{"data":[{"id":"`+testPage+`_2","created_time":"2026-12-08T01:02:03+0000"}],"paging":{"next":"https://other.example/v25.0/`+testPage+`/feed?access_token=`+testToken+`&after=A2"}}`))
		default:
			if r.URL.Query().Get("after") != "A2" {
				t.Errorf("third page asked %s", r.URL)
			}
			writeJSON(w, 400, []byte(`{"error":{"message":"Invalid OAuth access token - Cannot parse access token `+testToken+`","type":"OAuthException","code":190,"fbtrace_id":"AbC"}}`))
		}
	})
	ids, err := feedIDs(t, f.client())
	if len(ids) != 1 || err == nil {
		t.Fatalf("ids %v err %v", ids, err)
	}
	if ClassOf(err) != ClassPageBroken {
		t.Errorf("class %v, want page broken", ClassOf(err))
	}
	if s := err.Error(); strings.Contains(s, testToken) || strings.Contains(s, testSecret) {
		t.Errorf("error holds a secret: %s", s)
	}
}

// TestMetaErrorShapes_audit21: the error answers Meta documents, each
// classed as SPEC.md says, with their fields read, strings or numbers.
func TestMetaErrorShapes_audit21(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		header  http.Header
		body    string
		class   Class
		regain  time.Duration
		unknown bool
	}{
		{"user fields", 400, nil, `{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2018001,"error_user_title":"No matching user found","error_user_msg":"No user","is_transient":false,"fbtrace_id":"Ab12"}}`, ClassPermanent, 0, false},
		{"200 with error", 200, nil, `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"X"}}`, ClassPageBroken, 0, false},
		{"html 502", 502, http.Header{"Content-Type": {"text/html"}}, `<html><body>Bad Gateway</body></html>`, ClassTransient, 0, true},
		{"is_transient string", 500, nil, `{"error":{"message":"An unexpected error has occurred. Please retry your request later.","type":"OAuthException","code":"2","is_transient":"true","fbtrace_id":"Z"}}`, ClassTransient, 0, true},
		{"code as string 613", 400, nil, `{"error":{"message":"Calls to this api have exceeded the rate limit.","type":"OAuthException","code":"613"}}`, ClassThrottled, 0, false},
		{"retry-after 429", 429, http.Header{"Retry-After": {"120"}}, `{"error":{"message":"(#4) Application request limit reached","type":"OAuthException","code":4,"is_transient":true}}`, ClassThrottled, 2 * time.Minute, false},
		{"buc arrays", 400, http.Header{"X-Business-Use-Case-Usage": {`{"112130216863063":[{"type":"pages","call_count":"100","total_cputime":25,"total_time":25,"estimated_time_to_regain_access":"15"}],"1983306698425200":[{"type":"messenger","call_count":10,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}`}}, `{"error":{"message":"(#80001) There have been too many calls to this Page account.","type":"OAuthException","code":80001,"fbtrace_id":"Q"}}`, ClassThrottled, 15 * time.Minute, false},
		{"page usage regain", 400, http.Header{"X-Page-Usage": {`{"call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":7}`}}, `{"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32}}`, ClassThrottled, 7 * time.Minute, false},
		{"17 user limit", 400, nil, `{"error":{"message":"(#17) User request limit reached","type":"OAuthException","code":17,"is_transient":true,"error_subcode":2446079}}`, ClassThrottled, 0, false},
		{"10900", 400, nil, `{"error":{"message":"(#10900) Activity already replied to","type":"OAuthException","code":10900,"fbtrace_id":"R"}}`, ClassAlreadyReplied, 0, false},
		{"551", 400, nil, `{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"error_subcode":1545041}}`, ClassPermanent, 0, false},
		{"368", 400, nil, `{"error":{"message":"It looks like you were misusing this feature by going too fast.","type":"OAuthException","code":368,"error_subcode":1390008,"error_user_title":"You Can't Use This Feature Right Now","error_user_msg":"misusing","fbtrace_id":"S"}}`, ClassPageBroken, 0, false},
		{"200 permission", 403, nil, `{"error":{"message":"(#200) Requires pages_messaging permission to manage the object","type":"OAuthException","code":200}}`, ClassPageBroken, 0, false},
		{"empty 503", 503, nil, ``, ClassTransient, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header()[k] = v
				}
				if w.Header().Get("Content-Type") == "" {
					w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				}
				w.WriteHeader(tc.status)
				w.Write([]byte(tc.body))
			})
			c := f.client()
			_, rerr := feedIDs(t, c)
			_, serr := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
			for i, err := range []error{rerr, serr} {
				var ge *Error
				if !errors.As(err, &ge) {
					t.Fatalf("%d: %v is not a *Error", i, err)
				}
				if ge.Class != tc.class {
					t.Errorf("%d: class %v, want %v (%v)", i, ge.Class, tc.class, err)
				}
				if ge.RetryAfter != tc.regain {
					t.Errorf("%d: retry after %v, want %v", i, ge.RetryAfter, tc.regain)
				}
				if i == 1 && ge.Unknown != tc.unknown {
					t.Errorf("send: unknown %v, want %v", ge.Unknown, tc.unknown)
				}
				if i == 0 && ge.Unknown {
					t.Errorf("read: unknown set")
				}
				if strings.Contains(err.Error(), "<html") {
					t.Errorf("%d: error quotes the HTML: %v", i, err)
				}
			}
		})
	}
}

// TestUserFieldsRead_audit21: error_user_title, error_user_msg and
// fbtrace_id are kept, and fbtrace shows in the error line.
func TestUserFieldsRead_audit21(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 400, []byte(`{"error":{"message":"Invalid parameter","type":"OAuthException","code":100,"error_subcode":2018001,"error_user_title":"No matching user found","error_user_msg":"No user","is_transient":false,"fbtrace_id":"Ab12"}}`))
	})
	_, err := f.client().SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.UserTitle != "No matching user found" || ge.UserMessage != "No user" || ge.FBTraceID != "Ab12" || ge.Subcode != 2018001 {
		t.Fatalf("%#v", ge)
	}
	if !strings.Contains(err.Error(), "fbtrace Ab12") {
		t.Errorf("%v", err)
	}
}

// TestCommentIDShapesAndTimes_audit21: comment ids of two and three parts
// and Graph's +0000 times are read as they are.
func TestCommentIDShapesAndTimes_audit21(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, []byte(`{"data":[{"id":"`+testPage+`_11_22","created_time":"2026-12-08T01:02:03+0000","can_reply_privately":true,"from":{"id":"7","name":"A"},"message":"x"},{"id":"11_23","created_time":"2026-12-08T01:02:04+0100","parent":{"id":"11_22"}}],"summary":{"order":"reverse_chronological","total_count":"2"}}`))
	})
	var got []Comment
	for cm, err := range f.client().Comments(context.Background(), testToken, testPage+"_11") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, cm)
	}
	if len(got) != 2 || got[0].ID != testPage+"_11_22" || got[1].ID != "11_23" || got[1].Parent == nil {
		t.Fatalf("%+v", got)
	}
	if want := time.Date(2026, 12, 8, 1, 2, 3, 0, time.UTC); !got[0].CreatedTime.Equal(want) {
		t.Errorf("time %v, want %v", got[0].CreatedTime, want)
	}
	if want := time.Date(2026, 12, 8, 0, 2, 4, 0, time.UTC); !got[1].CreatedTime.Equal(want) {
		t.Errorf("time %v, want %v", got[1].CreatedTime, want)
	}
	if got[0].ListOrder != OrderReverseChronological {
		t.Errorf("order %q", got[0].ListOrder)
	}
}

// TestNonJSON200AndJavascriptType_audit21: Graph has long answered JSON
// as text/javascript, which reads as any JSON; a 200 HTML page (a captive
// portal, a proxy) is a transient malformed answer, and on a send its
// outcome is unknown (checked before sending again), never quoted.
func TestNonJSON200AndJavascriptType_audit21(t *testing.T) {
	f := newFakeGraph(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/javascript; charset=UTF-8")
			w.Write([]byte(`{"data":[{"id":"` + testPage + `_1","created_time":"2026-12-08T01:02:03+0000"}]}`))
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body>Sign in to the network ` + testToken + `</body></html>`))
	})
	c := f.client()
	if ids, err := feedIDs(t, c); err != nil || len(ids) != 1 {
		t.Fatalf("text/javascript JSON: %v %v", ids, err)
	}
	_, err := c.SendPrivateReply(context.Background(), testToken, testPage, Recipient{CommentID: "1_2"}, "hi")
	var ge *Error
	if !errors.As(err, &ge) || ge.Class != ClassTransient || !ge.Unknown {
		t.Fatalf("200 HTML on a send: %v, want transient with its outcome unknown", err)
	}
	if s := err.Error(); strings.Contains(s, testToken) || strings.Contains(s, "<html") {
		t.Errorf("error quotes the answer: %s", s)
	}
}
