package main

import (
	"regexp"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPollSummaryCountsInWords: the poll's summary line says "1 post", not
// "1 posts", as check says "1 Page".
func TestPollSummaryCountsInWords(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 11}, "10/s")
	page := e.sb.Pages()[0]
	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	re := regexp.MustCompile(`(?m)^page ` + page.ID + `: 1 post \(\d+ read for comments, \d+ unchanged\), \d+ items? seen, \d+ (reply|replies) enqueued, `)
	if code != exitOK || !re.MatchString(out) {
		t.Fatalf("poll: exit %d, want a summary matching %s\nstdout:\n%s\nstderr:\n%s", code, re, out, errOut)
	}
}
