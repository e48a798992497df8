package sandbox

import "testing"

// TestConversationsPlatformUppercase_audit12: Graph's reference and Meta's
// SDKs write the conversations edge's platform as an enum {INSTAGRAM,
// MESSENGER}, its Conversations guide as instagram or messenger: Graph
// takes either spelling, and so does the sandbox (it refused MESSENGER as an
// unknown platform, code 100).
func TestConversationsPlatformUppercase_audit12(t *testing.T) {
	e := newEnv(t, Options{Posts: 1, Comments: 1, Conversations: 2, Seed: 55})
	p := e.page(0)
	if a := e.get("/v25.0/"+p.ID+"/conversations?platform=MESSENGER", p.Token); a.status != 200 || len(a.data()) != 2 {
		t.Fatalf("MESSENGER: %d %s", a.status, a.raw)
	}
	if a := e.get("/v25.0/"+p.ID+"/conversations?platform=INSTAGRAM", p.Token); a.status != 200 || len(a.data()) != 0 {
		t.Fatalf("INSTAGRAM: %d %s", a.status, a.raw)
	}
}
