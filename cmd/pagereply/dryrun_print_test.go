package main

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestDryRunTableHasNoControls: the dry run's table shows names and texts
// that come from Graph, written by anyone who comments on the Page. A
// name holding ESC (or a C1 control such as U+009B, CSI on some terminals)
// went to the operator's terminal as is, where "\x1b[2J" clears the screen
// and "\x1b]0;...\x07" retitles the window; line breaks and tabs were
// already turned into spaces. Bidirectional controls (U+202E RIGHT-TO-LEFT
// OVERRIDE and the like) are dropped too: they reorder the rest of the row.
func TestDryRunTableHasNoControls(t *testing.T) {
	rep := &worker.PollReport{}
	rep.Replies = []intake.Would{{
		Target:   tasks.Target{Kind: tasks.KindComment, ID: "1_2"},
		FromID:   "998",
		FromName: "Eve\x1b[2J\x1b[31mRED\u009b1m\nNext\x7f",
		Text:     "Hi \x1b]0;title\x07Eve\u202egnol\u2066x\u2069\u200f",
	}}
	var b strings.Builder
	printDryRun(&b, rep)
	out := b.String()
	for _, r := range out {
		if r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200f) {
			t.Fatalf("dry run table holds control U+%04X:\n%q", r, out)
		}
	}
	if !strings.Contains(out, "Eve[2J[31mRED1m Next (998)") || !strings.Contains(out, "Hi ]0;titleEvegnolx") {
		t.Fatalf("dry run table lost the printable text:\n%q", out)
	}
}
