package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// TestReadRate: with Options.ReadRate, a Page's reads past the rate are
// refused, 80001 with a "pages" usage entry for its comments, feed and
// objects, 80006 with a "messenger" one for its conversations, each type on
// its own; a Page blocked for sends has its conversation reads (the listing,
// and a conversation read by its id) refused too.
// Without ReadRate reads are never throttled (the sandbox's old behaviour).
func TestReadRate(t *testing.T) {
	f := newFixture(t, Options{ReadRate: 2, SendRate: 1, ThrottleBlock: time.Minute})
	comments := "/v25.0/" + f.pagePost + "/comments"
	convs := "/v25.0/" + f.p.ID + "/conversations"
	for i := range 2 {
		if a := f.get(comments, f.p.Token); a.status != http.StatusOK {
			t.Fatalf("read %d: %d %s", i, a.status, a.raw)
		}
	}
	a := f.get(comments, f.p.Token)
	if code, _ := a.code(); code != CodePagesThrottled || usage(t, a.header, f.p.ID)["type"] != usagePages {
		t.Fatalf("third read in a second: %d %s", a.status, a.raw)
	}
	if a := f.get("/v25.0/"+f.p.ID+"/feed", f.p.Token); a.status != http.StatusBadRequest {
		t.Fatalf("feed in the pages block: %d %s", a.status, a.raw)
	}
	// The Messenger type is counted apart: conversations and sends still go.
	if a := f.get(convs, f.p.Token); a.status != http.StatusOK {
		t.Fatalf("conversations in the pages block: %d %s", a.status, a.raw)
	}
	if a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi"); a.status != http.StatusOK {
		t.Fatalf("send in the pages block: %d %s", a.status, a.raw)
	}
	// A second send in the second goes past SendRate: the block refuses the
	// conversation reads too.
	if a := f.send(f.p, map[string]string{"post_id": f.visitorPost}, "hi"); a.status != http.StatusBadRequest {
		t.Fatalf("second send: %d %s", a.status, a.raw)
	}
	a = f.get(convs, f.p.Token)
	if code, _ := a.code(); code != CodeThrottled || usage(t, a.header, f.p.ID)["type"] != usageMessenger {
		t.Fatalf("conversations in the send block: %d %s", a.status, a.raw)
	}
	conv := "/v25.0/" + f.sb.Conversations(f.p.ID)[0].ID + "?fields=id,messages{message}"
	a = f.get(conv, f.p.Token)
	if code, _ := a.code(); code != CodeThrottled || usage(t, a.header, f.p.ID)["type"] != usageMessenger {
		t.Fatalf("a conversation read by its id in the send block: %d %s", a.status, a.raw)
	}
	f.clk.Add(time.Minute)
	for _, path := range []string{comments, convs, conv} {
		if a := f.get(path, f.p.Token); a.status != http.StatusOK {
			t.Fatalf("%s after the blocks: %d %s", path, a.status, a.raw)
		}
	}

	g := newFixture(t, Options{SendRate: 1})
	for i := range 20 {
		if a := g.get("/v25.0/"+g.pagePost+"/comments", g.p.Token); a.status != http.StatusOK {
			t.Fatalf("without ReadRate, read %d: %d %s", i, a.status, a.raw)
		}
	}
}
