package graph_test

import (
	"context"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestConversationsAskForSmallerPages: the conversations listing names no
// limit, so Graph builds pages of its default 25; told they are too heavy,
// the listing asks for a quarter of those 25, not of some other size, and
// reads every conversation in the smaller pages.
func TestConversationsAskForSmallerPages(t *testing.T) {
	sb := sandbox.New(sandbox.Options{Pages: 1, Conversations: 14, Seed: 64, Faults: sandbox.Faults{MaxListItems: 10}})
	page := sb.Pages()[0]
	c, lim := limitsAskedOf(t, sb)
	n := 0
	for _, err := range c.Conversations(context.Background(), page.Token, page.ID) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if got, want := lim.String(), " 6 6 6"; got != want {
		t.Errorf("limits asked for: %q, want %q", got, want)
	}
	if n != 14 {
		t.Errorf("%d conversations, want 14", n)
	}
}
