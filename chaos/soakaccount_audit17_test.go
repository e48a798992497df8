//go:build soak

package chaos

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// soakCall makes the Graph call req with the Page token token, as pagereply
// sends it (in the Authorization header), and returns the answer's status.
func soakCall(t *testing.T, req *http.Request, token string) int {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSoakAccounting_audit17: the soak's settle check (soakMissing) on an
// app not live counts a reply to a person without a role as done once Graph
// refused it (2018028), and only then; a reply to someone with a role is
// missing until it is sent, refused or not. So on one Page, one person per
// Page (one_reply_per_person) and in a conversation. It needs no Redis nor
// -soak.port.
func TestSoakAccounting_audit17(t *testing.T) {
	tess, otto := sandbox.User{ID: "500001", Name: "Tess Role"}, sandbox.User{ID: "500002", Name: "Otto None"}
	sb := sandbox.New(sandbox.Options{Pages: 2, Seed: 5, AppNotLive: true, AppTesters: []string{tess.ID}})
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	access := soakAccess{notLive: true, testers: map[string]bool{tess.ID: true}}
	now := time.Now()
	var pages []soakPage
	var byTess, byOtto []string
	for i, p := range sb.Pages() {
		sp := soakPage{Page: p, def: true, perPerson: i == 1, conversing: i == 0}
		pages = append(pages, sp)
		post := sb.AddPost(p.ID, sandbox.User{}, "news", now.Add(-time.Hour))
		byTess = append(byTess, sb.AddComment(post, tess, "price?", now.Add(-time.Minute)))
		byOtto = append(byOtto, sb.AddComment(post, otto, "price?", now.Add(-time.Minute)))
	}
	sb.AddMessage(pages[0].ID, otto, "Hello?", now.Add(-time.Minute))
	send := func(p soakPage, recipient string) int {
		t.Helper()
		form := url.Values{"recipient": {recipient}, "message": {`{"text":"hi"}`}, "messaging_type": {"RESPONSE"}}
		req, _ := http.NewRequest(http.MethodPost, gs.URL+"/v25.0/"+p.ID+"/messages", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return soakCall(t, req, p.Token)
	}
	want := func(what string, ids ...string) {
		t.Helper()
		slices.Sort(ids)
		if got := soakMissing(sb, pages, access, time.Now()); !slices.Equal(got, ids) {
			t.Errorf("%s: missing %v, want %v", what, got, ids)
		}
	}
	conv := "conv:" + sb.Conversations(pages[0].ID)[0].ID
	ottoP1, tessP1 := "person:"+otto.ID+"@"+pages[1].ID, "person:"+tess.ID+"@"+pages[1].ID
	want("nothing sent", byTess[0], byOtto[0], conv, ottoP1, tessP1)

	// Graph refuses Otto (no role): his comment, his message and, on the
	// one_reply_per_person Page, his one reply are done.
	if st := send(pages[0], `{"comment_id":"`+byOtto[0]+`"}`); st != http.StatusBadRequest {
		t.Fatalf("send to Otto's comment: %d, want 400", st)
	}
	if st := send(pages[0], `{"id":"`+otto.ID+`"}`); st != http.StatusBadRequest {
		t.Fatalf("send to Otto's conversation: %d, want 400", st)
	}
	if st := send(pages[1], `{"comment_id":"`+byOtto[1]+`"}`); st != http.StatusBadRequest {
		t.Fatalf("send to Otto's comment on the second Page: %d, want 400", st)
	}
	want("Otto refused", byTess[0], tessP1)

	// Without the app not live (the soak's default) a refusal is no reply:
	// Otto's would be a miss, as Tess's are.
	want0 := soakMissing(sb, pages, soakAccess{}, time.Now())
	if !slices.Contains(want0, byOtto[0]) || !slices.Contains(want0, conv) || !slices.Contains(want0, ottoP1) {
		t.Errorf("app live: missing %v, want Otto's comment, conversation and person among them", want0)
	}

	// Otto writes again: his new message is missing until refused again.
	sb.AddMessage(pages[0].ID, otto, "Anyone?", time.Now().Add(time.Second))
	want("Otto's new message", byTess[0], conv, tessP1)
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	send(pages[0], `{"id":"`+otto.ID+`"}`)
	want("Otto's new message refused", byTess[0], tessP1)

	// Tess has a role: sent, she is answered.
	for i, p := range pages {
		if st := send(p, `{"comment_id":"`+byTess[i]+`"}`); st != http.StatusOK {
			t.Fatalf("send to Tess's comment on Page %d: %d, want 200", i, st)
		}
	}
	want("all answered or refused")
}

// TestSoakReadReport_audit17: the soak's read report (soakReads) tells a
// throttle the soak did not inject by the Page's reads of its type in the
// second before it, and one it injected not so; it gives each Page's busiest
// second and the busiest second after a chaos event.
func TestSoakReadReport_audit17(t *testing.T) {
	start := time.Now()
	clock := func() time.Time { return start } // stopped: the reads fall in one second however slow
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 1, Seed: 6, ReadRate: 2, LogReads: true, ThrottleBlock: time.Minute, Now: clock})
	tp := &tap{h: sb, forced: map[string][][2]time.Time{}, now: clock}
	gs := httptest.NewServer(tp)
	t.Cleanup(gs.Close)
	var pages []soakPage
	for _, p := range sb.Pages() {
		pages = append(pages, soakPage{Page: p})
	}
	get := func(p soakPage, path string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, gs.URL+"/v25.0/"+path, nil)
		return soakCall(t, req, p.Token)
	}
	evs := []soakEvent{{at: start, text: "worker-1 SIGKILLed"}}
	a, b := pages[0], pages[1]
	for range 3 { // the third read in a second: 80001, the Page's own
		get(a, a.ID+"/feed")
	}
	tp.force(b.ID, start, start.Add(time.Minute))
	sb.Throttle(b.ID, time.Minute)
	if st := get(b, b.ID+"/feed"); st != http.StatusBadRequest {
		t.Fatalf("read of a throttled Page: %d", st)
	}
	rep := soakReads(sb, pages, tp, evs, start, 2)
	for _, want := range []string{
		"throttle 80001 not injected, page " + a.ID,
		"in the second before, 0 send calls and 3 reads of type pages",
		"page " + a.ID + ": 3 reads map[feed:3]; refused by its own rate 1, by an injected throttle 0; busiest second of pages: 3",
		"page " + b.ID + ": 1 reads map[feed:1]; refused by its own rate 0, by an injected throttle 1",
		"busiest second of reads within 20 s after a chaos event: 3 (page " + a.ID + ", pages",
	} {
		if !strings.Contains(rep.summary, want) {
			t.Errorf("the summary has no %q:\n%s", want, rep.summary)
		}
	}
	if strings.Contains(rep.summary, "not injected, page "+b.ID) {
		t.Errorf("the injected throttle is told as not injected:\n%s", rep.summary)
	}
	if n := strings.Count(rep.log, "\n"); n != 4 {
		t.Errorf("reads.txt has %d lines, want 4:\n%s", n, rep.log)
	}
	if !strings.Contains(rep.events, "worker-1 SIGKILLed\n  page "+a.ID+": pages 3 reads in 20 s, busiest second 3") {
		t.Errorf("reads_events.txt:\n%s", rep.events)
	}
}
