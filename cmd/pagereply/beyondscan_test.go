package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPollSaysWhatScanPostsLeavesOut: the feed lists posts by creation, so a
// poll stops at the first post older than scan_posts. A fresh comment on
// such a post is not read: the poll says so (dry run and real poll, and the
// real poll's log), and a longer scan_posts reads it.
func TestPollSaysWhatScanPostsLeavesOut(t *testing.T) {
	now := time.Now()
	e := newE2EPages(t, sandbox.Options{Pages: 1, Posts: 3, Comments: 2, Seed: 11}, func(_ int, p sandbox.Page) string {
		return fmt.Sprintf(`  - id: "%s"
    access_token: "%s"
    schedule: "@every 1m"
    rate: 10/s
    reply_to: [comments]
    scan_posts: 720h
    default_text: "Thanks, {{.FirstName}}!"
`, p.ID, p.Token)
	})
	page := e.sb.Pages()[0]
	old := e.sb.AddPost(page.ID, sandbox.User{ID: "9001", Name: "Old Poster"}, "a post from long ago", now.Add(-800*time.Hour))
	fresh := e.sb.AddComment(old, sandbox.User{ID: "9002", Name: "Fresh Commenter"}, "is this still on sale?", now.Add(-time.Hour))

	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	want := fmt.Sprintf("post %s was created %s, before scan_posts (720h), and has comments since ", old, now.Add(-800*time.Hour).UTC().Format(time.RFC3339))
	if code != exitOK || !strings.Contains(out, want) || strings.Contains(out, "comment:"+fresh) {
		t.Fatalf("dry run: exit %d, want %q and no reply to %s\n%s\n%s", code, want, fresh, out, errOut)
	}

	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitOK || !strings.Contains(out, want) ||
		strings.Count(errOut, "a post created before scan_posts has comments inside the reply window") != 1 {
		t.Fatalf("poll: exit %d\n%s\n%s", code, out, errOut)
	}

	// With scan_posts reaching it, the post is read and its comment answered.
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, []byte(strings.Replace(string(cfg), "scan_posts: 720h", "scan_posts: 1000h", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitOK || strings.Contains(out, "before scan_posts") || !strings.Contains(out, "comment:"+fresh) {
		t.Fatalf("dry run with scan_posts 1000h: exit %d\n%s\n%s", code, out, errOut)
	}
}
