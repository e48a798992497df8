package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPollReadsOldPostsWithFreshComments: a post created before scan_posts
// can still get comments (its updated_time moves with them). The poll reads
// past scan_posts while the posts have comments inside the reply window,
// answers those comments, not the old posts themselves, goes past an old
// post with nothing new, and stops after 25 such posts in a row.
func TestPollReadsOldPostsWithFreshComments(t *testing.T) {
	now := time.Now()
	e := newE2EPages(t, sandbox.Options{Pages: 1, Posts: 3, Comments: 2, Seed: 11}, func(_ int, p sandbox.Page) string {
		return fmt.Sprintf(`  - id: "%s"
    access_token: "%s"
    schedule: "@every 1m"
    rate: 10/s
    reply_to: [comments, posts]
    scan_posts: 720h
    default_text: "Thanks, {{.FirstName}}!"
`, p.ID, p.Token)
	})
	page := e.sb.Pages()[0]
	visitor := func(id string) sandbox.User { return sandbox.User{ID: id, Name: "Visitor " + id} }
	// Newest first in the feed: old (fresh comment), quiet (nothing new),
	// older (fresh comment, read past the quiet one), 25 quiet ones, and
	// oldest (a fresh comment the walk does not reach).
	old := e.sb.AddPost(page.ID, visitor("9001"), "a post from long ago", now.Add(-800*time.Hour))
	fresh := e.sb.AddComment(old, visitor("9002"), "is this still on sale?", now.Add(-time.Hour))
	quiet := e.sb.AddPost(page.ID, visitor("9003"), "a quiet old post", now.Add(-900*time.Hour))
	e.sb.AddComment(quiet, visitor("9004"), "an old comment", now.Add(-850*time.Hour))
	older := e.sb.AddPost(page.ID, visitor("9005"), "an even older post", now.Add(-1000*time.Hour))
	fresh2 := e.sb.AddComment(older, visitor("9006"), "hello?", now.Add(-time.Hour))
	for i := range 25 {
		e.sb.AddPost(page.ID, visitor("9007"), "one of many quiet old posts", now.Add(-time.Duration(1100+i)*time.Hour))
	}
	oldest := e.sb.AddPost(page.ID, visitor("9008"), "the oldest post", now.Add(-1500*time.Hour))
	unreached := e.sb.AddComment(oldest, visitor("9009"), "anyone?", now.Add(-time.Hour))

	out, errOut, code := run(t, "poll", "-c", e.cfgPath, "--page", page.ID, "--dry-run")
	if code != exitOK || !strings.Contains(out, "comment:"+fresh) || !strings.Contains(out, "comment:"+fresh2) || strings.Contains(out, "post:"+old) ||
		strings.Contains(out, "comment:"+unreached) || !strings.Contains(out, "2 posts created before scan_posts were read too") {
		t.Fatalf("dry run: exit %d, want replies to %s and %s only of the old posts' items\n%s\n%s", code, fresh, fresh2, out, errOut)
	}

	out, errOut, code = run(t, "poll", "-c", e.cfgPath, "--page", page.ID)
	if code != exitOK || !strings.Contains(out, "2 posts created before scan_posts were read too") {
		t.Fatalf("poll: exit %d\n%s\n%s", code, out, errOut)
	}
	w := start(t, "worker", "-c", e.cfgPath)
	eventually(t, 30*time.Second, "the replies to the fresh comments on the old posts", func() bool {
		return e.sb.SendCount(fresh) == 1 && e.sb.SendCount(fresh2) == 1
	})
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := w.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("worker exit %d:\n%s", code, w.stderr)
	}
	if e.sb.SendCount(old) != 0 || e.sb.SendCount(unreached) != 0 {
		t.Fatalf("sends to the old post %d, to the unreached comment %d", e.sb.SendCount(old), e.sb.SendCount(unreached))
	}
}
