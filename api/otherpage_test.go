package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestConversationOfAnotherPage: a conversation_id that is not one of the
// Page's conversations (another configured Page's conversation, its comment,
// or the other Page itself) is the caller's mistake: Graph answers its read
// 100/33 "Unsupported get request", as for an unknown id, and the API answers
// 400 naming conversation_id. The Page is not paused: its token is fine, and
// a pause would stop all its replies for a request's typo. A token Graph
// refuses on the Page's own conversation does pause it, as page_broken.
func TestConversationOfAnotherPage(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 2, Comments: 3, Conversations: 4, Seed: 19})
	e := newEnv(t, func(p *api.Params) {
		gs := httptest.NewServer(sb)
		t.Cleanup(gs.Close)
		p.Graph = graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second})
		p.Pages = nil
		for _, pg := range sb.Pages() {
			p.Pages = append(p.Pages, config.Page{ID: pg.ID, AccessToken: pg.Token})
		}
	})
	p1, p2 := sb.Pages()[0], sb.Pages()[1]
	convs1, convs2 := sb.Conversations(p1.ID), sb.Conversations(p2.ID)
	if len(convs1) == 0 || len(convs2) == 0 {
		t.Fatal("no conversations seeded")
	}
	ctx := context.Background()
	for _, tc := range []struct{ name, id string }{
		{"another Page's conversation", convs1[0].ID},
		{"another Page's comment", sb.AllComments(p1.ID)[0].ID},
		{"another Page", p1.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, p2.ID, tc.id)
			status, m := e.do(t, "POST", "/v1/replies", testToken, b)
			if status != http.StatusBadRequest || errField(m) != "conversation_id" {
				t.Fatalf("%d %v, want 400 naming conversation_id", status, m)
			}
			if d, reason, err := e.ledger.Paused(ctx, p2.ID); err != nil || d > 0 {
				t.Fatalf("Page %s paused for %s (%q, %v) by a read of an id the caller chose", p2.ID, d, reason, err)
			}
		})
	}
	if strings.Contains(e.logs.String(), "page paused") {
		t.Fatalf("a Page was paused:\n%s", e.logs.String())
	}

	// The Page's own conversation with a token Graph refuses: the Page is
	// broken, and paused.
	sb.BreakToken(p2.ID, true)
	b := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"hello"}`, p2.ID, convs2[0].ID)
	if status, m := e.do(t, "POST", "/v1/replies", testToken, b); status != http.StatusBadGateway {
		t.Fatalf("broken token: %d %v, want 502", status, m)
	}
	d, reason, err := e.ledger.Paused(ctx, p2.ID)
	if err != nil || d < 4*time.Minute || !strings.HasPrefix(reason, "page_broken") {
		t.Fatalf("broken token: Page paused for %s (%q, %v), want 5 minutes, page_broken", d, reason, err)
	}
	if d, _, _ := e.ledger.Paused(ctx, p1.ID); d > 0 {
		t.Fatalf("the other Page was paused too")
	}
}
