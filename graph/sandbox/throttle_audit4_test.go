package sandbox

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestThrottleCodeByRateLimit: a Page blocked by Throttle is refused as Meta
// refuses a Page token over its limits: reads of the Page's comments with the
// Pages rate limit's 80001 and a "pages" usage entry, a send and a read of a
// conversation's messages with the Messenger Platform's 80006 and a
// "messenger" entry, each with the time to regain access in minutes, rounded
// up. Every refusal counts in ThrottledCount, whatever its code.
func TestThrottleCodeByRateLimit(t *testing.T) {
	f := newFixture(t, Options{})
	f.sb.Throttle(f.p.ID, 90*time.Second)
	conv := f.sb.Conversations(f.p.ID)[0].ID
	for i, tc := range []struct {
		name, typ, msg string
		code           int
		call           func() answer
	}{
		{"comments", usagePages, "(#80001) There have been too many calls to this Page account.", CodePagesThrottled,
			func() answer { return f.get("/v25.0/"+f.pagePost+"/comments", f.p.Token) }},
		{"send", usageMessenger, "(#80006) There have been too many messenger api calls to this Page account.", CodeThrottled,
			func() answer { return f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi") }},
		{"thread", usageMessenger, "(#80006) ", CodeThrottled,
			func() answer { return f.get("/v25.0/"+conv+"/messages", f.p.Token) }},
	} {
		a := tc.call()
		code, sub := a.code()
		e, _ := a.body["error"].(map[string]any)
		if a.status != http.StatusBadRequest || code != tc.code || sub != 0 || e["type"] != "OAuthException" {
			t.Fatalf("%s: %d %s", tc.name, a.status, a.raw)
		}
		if msg, _ := e["message"].(string); !strings.HasPrefix(msg, tc.msg) {
			t.Fatalf("%s: message %q", tc.name, msg)
		}
		u := usage(t, a.header, f.p.ID)
		if u["type"] != tc.typ || u["call_count"] != 100.0 || u["estimated_time_to_regain_access"] != 2.0 {
			t.Fatalf("%s: usage %v", tc.name, u)
		}
		if n := f.sb.ThrottledCount(f.p.ID); n != i+1 {
			t.Fatalf("%s: ThrottledCount = %d, want %d", tc.name, n, i+1)
		}
	}
	f.clk.Add(90 * time.Second)
	a := f.get("/v25.0/"+f.pagePost+"/comments", f.p.Token)
	if u := usage(t, a.header, f.p.ID); a.status != http.StatusOK || u["type"] != usagePages || u["estimated_time_to_regain_access"] != 0.0 {
		t.Fatalf("after the block: %d %v", a.status, u)
	}
	if a := f.get("/v25.0/"+conv+"/messages", f.p.Token); a.status != http.StatusOK || usage(t, a.header, f.p.ID)["type"] != usageMessenger {
		t.Fatalf("thread after the block: %s", a.raw)
	}
}
