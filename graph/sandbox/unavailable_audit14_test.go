package sandbox

import (
	"net/http"
	"testing"
)

// TestUnavailableSubcode_audit14: the sandbox refuses a private reply or a
// conversation reply to a person who cannot be messaged as Meta does: code
// 551 with error_subcode 1545041 ("(#551) This person isn't available right
// now."), the pair Meta's Send API error codes list
// (https://developers.facebook.com/docs/messenger-platform/reference/send-api/error-codes)
// and its answers carry, not 551 alone.
// subUnavailable is Meta's subcode of 551.
const subUnavailable = 1545041

func TestUnavailableSubcode_audit14(t *testing.T) {
	f := newFixture(t, Options{})
	a := f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, sendForm(map[string]string{"comment_id": f.blkd}, "x"))
	if code, sub := a.code(); code != CodeUnavailable || sub != subUnavailable {
		t.Errorf("private reply to a blocked person: %d/%d, want %d/%d: %s", code, sub, CodeUnavailable, subUnavailable, a.raw)
	}
	f.sb.SetBlocked(f.inWindow.ID, true)
	a = f.do(http.MethodPost, "/v25.0/"+f.p.ID+"/messages", f.p.Token, convForm(f.inWindow.ID, "RESPONSE"))
	if code, sub := a.code(); code != CodeUnavailable || sub != subUnavailable {
		t.Errorf("conversation reply to a blocked person: %d/%d, want %d/%d: %s", code, sub, CodeUnavailable, subUnavailable, a.raw)
	}
}
