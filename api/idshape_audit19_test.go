package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestReplyIDShapeRefused_audit19: POST /v1/replies looked at an id's
// characters only: a comment_id or post_id no Graph id has the shape of
// (an empty part between underscores, a comment id of four parts, a post
// id of three) was queued, 202, and archived later with Graph's refusal.
// It is a 400 naming the field and the shape Meta writes, without the
// value, alone and in a batch; the shapes Meta uses (a comment's
// <post-id>_<comment-id>, its older <page-id>_<post-id>_<comment-id>, a
// bare id) are queued as before.
func TestReplyIDShapeRefused_audit19(t *testing.T) {
	e := newEnv(t, nil)
	for i, tc := range []struct{ field, id, want string }{
		{"comment_id", "1_2_3_4", "<post-id>_<comment-id>"},
		{"comment_id", "122100000000000019__1000000000000599", "<post-id>_<comment-id>"},
		{"comment_id", "_1000000000000599", "<post-id>_<comment-id>"},
		{"post_id", e.page.ID + "_122100000000000019_1000000000000599", "<page-id>_<post-id>"},
		{"post_id", e.page.ID + "_", "<page-id>_<post-id>"},
	} {
		body := fmt.Sprintf(`{"page_id":%q,%q:%q,"text":"hello"}`, e.page.ID, tc.field, tc.id)
		status, m := e.do(t, "POST", "/v1/replies", testToken, body)
		msg := errMessage(m)
		if status != 400 || errField(m) != tc.field || !strings.Contains(msg, tc.want) {
			t.Errorf("%d: %s %q: %d %v; want 400 naming %s and %s", i, tc.field, tc.id, status, m, tc.field, tc.want)
		}
		if strings.Contains(msg, tc.id) {
			t.Errorf("%d: the answer repeats the id: %q", i, msg)
		}
	}
	for i, tc := range []struct{ field, id string }{
		{"comment_id", "122100000000000019_1000000000000599"},
		{"comment_id", e.page.ID + "_122100000000000019_1000000000000598"},
		{"comment_id", "1000000000000597"},
		{"post_id", e.page.ID + "_122100000000000019"},
	} {
		body := fmt.Sprintf(`{"page_id":%q,%q:%q,"text":"hello"}`, e.page.ID, tc.field, tc.id)
		if status, m := e.do(t, "POST", "/v1/replies", testToken, body); status != 202 {
			t.Errorf("%d: %s %q (a shape Meta uses): %d %v; want 202", i, tc.field, tc.id, status, m)
		}
	}
	batch := fmt.Sprintf(`{"replies":[{"page_id":%q,"comment_id":"5_6","text":"ok"},{"page_id":%q,"comment_id":"5_6_7_8","text":"ok"}]}`, e.page.ID, e.page.ID)
	status, m := e.do(t, "POST", "/v1/replies", testToken, batch)
	res, _ := m["results"].([]any)
	if status != 207 || len(res) != 2 {
		t.Fatalf("batch: %d %v", status, m)
	}
	first, _ := res[0].(map[string]any)
	second, _ := res[1].(map[string]any)
	if first["status"] != float64(202) || second["status"] != float64(400) || errField(second) != "replies[1].comment_id" {
		t.Errorf("batch results %v; want 202, then 400 naming replies[1].comment_id", res)
	}
}

// TestReplyIDShapeNoOracle_audit19: an id refused for its shape gets the
// same answer whether or not it holds a secret of the configuration: the
// shape is looked at first, so a caller learns nothing of the secrets from
// an id that could never be queued.
func TestReplyIDShapeNoOracle_audit19(t *testing.T) {
	const appSecret = "appsecretForTheAudit19Test"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{appSecret} })
	answer := func(id string) (int, string, string) {
		body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hello"}`, e.page.ID, id)
		status, m := e.do(t, "POST", "/v1/replies", testToken, body)
		return status, errField(m), errMessage(m)
	}
	s1, f1, m1 := answer("1__" + appSecret)
	s2, f2, m2 := answer("1__" + "appsecretForTheAudit19Tesx")
	if s1 != 400 || s1 != s2 || f1 != f2 || m1 != m2 {
		t.Errorf("a mis-shaped id holding the app secret answers %d %q %q, one without %d %q %q; want the same answer",
			s1, f1, m1, s2, f2, m2)
	}
	if strings.Contains(m1, appSecret) || strings.Contains(e.logs.String(), appSecret) {
		t.Errorf("the secret reached the answer or the log")
	}
}
