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
