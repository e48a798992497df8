package main

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPollOfBrokenTokenSaysWhatToDoAudit15: a poll whose token Graph
// refuses says what to do, not only that the Page is paused (README: poll
// exits 1 "saying why and what to do"): the dry run, which pauses nothing,
// names the Page's access_token in the config; the poll, which pauses the
// Page, says what lifts the pause, as a poll of a Page paused before it
// does. Neither prints the token.
func TestPollOfBrokenTokenSaysWhatToDoAudit15(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 3, Seed: 6}, "10/s")
	page := e.sb.Pages()[0]
	e.sb.BreakToken(page.ID, true)

	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitError || out != "" || !strings.Contains(errOut, "pagereply poll: poll page "+page.ID+": ") ||
		!strings.Contains(errOut, "pages[0].access_token") {
		t.Fatalf("dry run with a broken token: exit %d\nstdout %q\n%s", code, out, errOut)
	}
	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitError || out != "" || !strings.Contains(errOut, "page "+page.ID+" is paused now") ||
		!strings.Contains(errOut, "a new access_token or graph.app_secret in the config lifts the pause") ||
		strings.Contains(errOut, "paused: page_broken") {
		t.Fatalf("poll with a broken token: exit %d\nstdout %q\n%s", code, out, errOut)
	}
	if strings.Contains(errOut, page.Token) {
		t.Fatal("the token reached the output")
	}
}
