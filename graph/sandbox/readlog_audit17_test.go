package sandbox

import (
	"net/http"
	"testing"
	"time"
)

// TestReadLog_audit17: with Options.LogReads, every read of a Page that
// reaches its rate limit is recorded with the instant it was counted, its
// rate limit type and endpoint, and whether it was refused (by the Page's own
// reads, or forced by Throttle); sends and reads that never reach the Page
// (another Page's object) are not reads of it. MaxReadsIn gives the busiest
// window of one type and when it began, which is what tells a throttle that
// a burst of the client's reads started from one the test injected.
// Without LogReads nothing is kept.
func TestReadLog_audit17(t *testing.T) {
	f := newFixture(t, Options{ReadRate: 2, LogReads: true, ThrottleBlock: time.Minute})
	comments := "/v25.0/" + f.pagePost + "/comments"
	feed := "/v25.0/" + f.p.ID + "/feed"
	convs := "/v25.0/" + f.p.ID + "/conversations"
	t0 := f.clk.Now()
	for i, path := range []string{comments, feed} {
		if a := f.get(path, f.p.Token); a.status != http.StatusOK {
			t.Fatalf("read %d: %d %s", i, a.status, a.raw)
		}
		f.clk.Add(100 * time.Millisecond)
	}
	// The third Pages read in a second is refused (80001); the Messenger
	// type is counted apart.
	if code, _ := f.get(comments, f.p.Token).code(); code != CodePagesThrottled {
		t.Fatalf("third read in a second: code %d", code)
	}
	if a := f.get(convs, f.p.Token); a.status != http.StatusOK {
		t.Fatalf("conversations: %d %s", a.status, a.raw)
	}
	if a := f.send(f.p, map[string]string{"comment_id": f.fresh}, "hi"); a.status != http.StatusOK {
		t.Fatalf("send: %d %s", a.status, a.raw)
	}
	f.get("/v25.0/"+f.foreign, f.p.Token) // another Page's comment: unknown to this token
	f.clk.Add(2 * time.Minute)
	f.sb.Throttle(f.p.ID, time.Minute)
	if code, _ := f.get(convs, f.p.Token).code(); code != CodeThrottled {
		t.Fatalf("conversations under Throttle: code %d", code)
	}

	type want struct {
		at              time.Duration
		typ, endpoint   string
		refused, forced bool
	}
	wants := []want{
		{0, UsageTypePages, EndpointComments, false, false},
		{100 * time.Millisecond, UsageTypePages, EndpointFeed, false, false},
		{200 * time.Millisecond, UsageTypePages, EndpointComments, true, false},
		{200 * time.Millisecond, UsageTypeMessenger, EndpointConversations, false, false},
		{2*time.Minute + 200*time.Millisecond, UsageTypeMessenger, EndpointConversations, true, true},
	}
	got := f.sb.Reads(f.p.ID)
	if len(got) != len(wants) {
		t.Fatalf("%d reads recorded, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		g := got[i]
		if !g.Time.Equal(t0.Add(w.at)) || g.PageID != f.p.ID || g.Type != w.typ || g.Endpoint != w.endpoint || g.Refused != w.refused || g.Forced != w.forced {
			t.Errorf("read %d: %+v, want %+v at t0+%s", i, g, w, w.at)
		}
	}
	if n := len(f.sb.Reads(f.other.ID)); n != 0 {
		t.Errorf("%d reads of the other Page, want 0", n)
	}
	if n, from := f.sb.MaxReadsIn(f.p.ID, UsageTypePages, time.Second); n != 3 || !from.Equal(t0) {
		t.Errorf("MaxReadsIn pages: %d from %s, want 3 from %s", n, from, t0)
	}
	if n, from := f.sb.MaxReadsIn(f.p.ID, UsageTypeMessenger, time.Second); n != 1 || !from.Equal(t0.Add(200*time.Millisecond)) {
		t.Errorf("MaxReadsIn messenger: %d from %s, want 1 from t0+200ms", n, from)
	}
	if n, _ := f.sb.MaxReadsIn(f.p.ID, UsageTypePages, 150*time.Millisecond); n != 2 {
		t.Errorf("MaxReadsIn pages over 150ms: %d, want 2", n)
	}
	f.sb.ResetStats()
	if n := len(f.sb.Reads(f.p.ID)); n != 0 {
		t.Errorf("%d reads after ResetStats", n)
	}

	g := newFixture(t, Options{ReadRate: 2})
	g.get("/v25.0/"+g.pagePost+"/comments", g.p.Token)
	if n, _ := g.sb.MaxReadsIn(g.p.ID, UsageTypePages, time.Second); n != 0 || g.sb.Reads(g.p.ID) != nil {
		t.Errorf("without LogReads: %d reads in a second, %v", n, g.sb.Reads(g.p.ID))
	}
}

// TestAppNotLiveRefusals_audit17: each send refused because the app is not
// live for the person (10/2018028) is recorded, with its Page, kind, target
// (the comment or post id, the PSID of a conversation reply) and time, as
// a test needs to account for every refused person; a tester's send is not a
// refusal, and 10900's record (AlreadyReplied) now says its Page and kind too.
func TestAppNotLiveRefusals_audit17(t *testing.T) {
	e := newAppNotLiveEnv(t, 43)
	p, other, now := e.p, e.other, e.now
	byOther, byTester, otherPost := e.byOther, e.byTester, e.otherPost

	wantAppNotLive(t, "comment", e.send(p, map[string]string{"comment_id": byOther}, "hi"))
	e.clk.Add(time.Second)
	wantAppNotLive(t, "post", e.send(p, map[string]string{"post_id": otherPost}, "hi"))
	wantAppNotLive(t, "conversation", e.do(http.MethodPost, "/v25.0/"+p.ID+"/messages", p.Token, convForm(other.ID, "RESPONSE")))
	wantAppNotLive(t, "comment again", e.send(p, map[string]string{"comment_id": byOther}, "hi"))
	for range 2 { // sent, then 10900
		e.send(p, map[string]string{"comment_id": byTester}, "hi")
	}
	want := []Refusal{
		{PageID: p.ID, Kind: KindComment, Target: byOther, Time: now},
		{PageID: p.ID, Kind: KindPost, Target: otherPost, Time: now.Add(time.Second)},
		{PageID: p.ID, Kind: KindConversation, Target: other.ID, Time: now.Add(time.Second)},
		{PageID: p.ID, Kind: KindComment, Target: byOther, Time: now.Add(time.Second)},
	}
	got := e.sb.AppNotLiveRefusals()
	if len(got) != len(want) {
		t.Fatalf("AppNotLiveRefusals: %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].PageID != want[i].PageID || got[i].Kind != want[i].Kind || got[i].Target != want[i].Target || !got[i].Time.Equal(want[i].Time) {
			t.Errorf("refusal %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if ar := e.sb.AlreadyReplied(); len(ar) != 1 || ar[0].PageID != p.ID || ar[0].Kind != KindComment || ar[0].Target != byTester {
		t.Errorf("AlreadyReplied: %+v, want the tester's comment's second send", ar)
	}
	e.sb.ResetStats()
	if n := len(e.sb.AppNotLiveRefusals()); n != 0 {
		t.Errorf("%d refusals after ResetStats", n)
	}
}
