package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestPollStoppedSaysPartial_audit19: a poll stopped before its end (Ctrl-C
// in the middle of a Page's posts, here the command's context ended at its
// third comments read) printed its table and summary on stdout as a
// finished one does ("N items seen; M would get a reply"), the error only on
// stderr: `poll --dry-run > list.txt` kept a list that looked whole. Both
// the dry run's output and the real poll's now say on stdout that the poll
// stopped before its end, and it still exits 1.
func TestPollStoppedSaysPartial_audit19(t *testing.T) {
	for _, dry := range []bool{true, false} {
		e := newE2E(t, sandbox.Options{Pages: 1, Posts: 6, Comments: 4, Seed: 7}, "100/s")
		up, err := url.Parse(e.graph)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var reads atomic.Int32
		proxy := httputil.NewSingleHostReverseProxy(up)
		ps := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/comments") && reads.Add(1) == 3 {
				cancel() // Ctrl-C, as the poll reads its third post's comments
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(ps.Close)
		b, err := os.ReadFile(e.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.cfgPath, []byte(strings.ReplaceAll(string(b), e.graph, ps.URL)), 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"poll", "-c", e.cfgPath, "--page", e.sb.Pages()[0].ID}
		if dry {
			args = append(args, "--dry-run")
		}
		var out, errOut bytes.Buffer
		code := runMain(ctx, &cmdEnv{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}, args)
		if code != exitError {
			t.Errorf("dry run %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", dry, code, exitError, out.String(), errOut.String())
		}
		if reads.Load() < 3 {
			t.Fatalf("dry run %v: the poll read %d posts' comments, want it stopped at its third\nstdout:\n%s\nstderr:\n%s", dry, reads.Load(), out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "seen") {
			t.Fatalf("dry run %v: no summary of what was read before the stop\nstdout:\n%s\nstderr:\n%s", dry, out.String(), errOut.String())
		}
		if !strings.Contains(out.String(), "the poll stopped before its end") {
			t.Errorf("dry run %v: stdout does not say the poll stopped before its end\nstdout:\n%s\nstderr:\n%s", dry, out.String(), errOut.String())
		}
	}
}
