package main

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestEnqueueTemplateTextNoted_audit22: --text is sent as written (README,
// docs/API.md), while the configuration's texts are templates: a user who
// wrote "Hi {{.FirstName}}" queued a reply that reached the person with
// those characters, and was told nothing. The reply is still queued as
// written (exit 0), and a note on stderr says it is not a template; a text
// without {{...}} gets no note.
func TestEnqueueTemplateTextNoted_audit22(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 22}, "10/s")
	page := e.sb.Pages()[0].ID
	const note = "--text is sent as written, not as a template"
	out, errOut, code := runInProcess(t, nil, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", page+"_3_4", "--text", "Hi {{.FirstName}}!")
	if code != exitOK || !strings.HasPrefix(out, "queued comment:"+page+"_3_4") || !strings.Contains(errOut, note) {
		t.Fatalf("enqueue of a template text: exit %d %q %q; want 0, queued, and a note %q", code, out, errOut, note)
	}
	out, errOut, code = runInProcess(t, nil, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", page+"_3_5", "--text", "Hi {there}")
	if code != exitOK || strings.Contains(errOut, note) {
		t.Fatalf("enqueue of a plain text: exit %d %q %q; want 0 and no note", code, out, errOut)
	}
}
