package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestBareArrayNamesBatchShape_audit22: a body that is a bare JSON array of
// replies (what a caller sending several tries first) is a 400 whose message
// names the batch's shape, {"replies":[...]}; before, it said only that the
// body must be a JSON object. Nothing is queued: the same reply alone is
// then a 202.
func TestBareArrayNamesBatchShape_audit22(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	one := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
	for _, body := range []string{"[" + one + "]", ` "hi"`, "null"} {
		st, m := e.postRaw(t, []byte(body), map[string]string{"Content-Type": "application/json"})
		if st != http.StatusBadRequest || !strings.Contains(errMessage(m), `{"replies":[...]}`) {
			t.Fatalf("body %q: %d %v; want 400 naming {\"replies\":[...]}", body, st, m)
		}
	}
	if st, m := e.postRaw(t, []byte(one), nil); st != http.StatusAccepted {
		t.Fatalf("the reply alone: %d %v; want 202 (the array queued nothing)", st, m)
	}
}

// TestBadIDSaysWhatAnIDHolds_audit22: an id with a character no Graph id
// has (a comment's URL pasted for its id) was answered "comment_id is not
// a valid Graph id", leaving the caller to guess what was wrong with it;
// the answer now says which characters an id holds, never the value.
func TestBadIDSaysWhatAnIDHolds_audit22(t *testing.T) {
	e := newEnv(t, nil)
	const url = "https://www.facebook.com/permalink.php?story_fbid=2&id=1"
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, url)
	st, m := e.postRaw(t, []byte(body), nil)
	if st != http.StatusBadRequest || errField(m) != "comment_id" ||
		!strings.Contains(errMessage(m), "only letters, digits and _ - . : = + $") || strings.Contains(errMessage(m), "permalink") {
		t.Fatalf("comment_id %q: %d %v; want 400 naming the characters an id holds", url, st, m)
	}
}
