package main

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestEnqueueIDShapeRefused_audit19: pagereply enqueue looked at an id's
// characters only, so a --comment or --post no Graph id has the shape of (a
// comment id of four parts, a post id of three, an empty part) was queued
// and archived later with Graph's refusal. It is bad usage, exit 2, naming
// the flag and the shape Meta writes, and nothing is queued; the older
// three-part comment id Meta still names is queued as before.
func TestEnqueueIDShapeRefused_audit19(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 19}, "10/s")
	page := e.sb.Pages()[0].ID
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.db.Addr, DB: e.db.DB})
	t.Cleanup(func() { _ = insp.Close() })
	for _, tc := range []struct{ flag, id, want string }{
		{"--comment", page + "_1_2_3", "<post-id>_<comment-id>"},
		{"--comment", "1__2", "<post-id>_<comment-id>"},
		{"--post", page + "_1_2", "<page-id>_<post-id>"},
		{"--post", page + "_", "<page-id>_<post-id>"},
	} {
		out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page, tc.flag, tc.id, "--text", "Hello")
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.flag) || !strings.Contains(errOut, tc.want) {
			t.Errorf("enqueue %s %s: exit %d, %q %q; want exit 2 naming %s and %s", tc.flag, tc.id, code, out, errOut, tc.flag, tc.want)
		}
	}
	// The queue does not exist until a task is queued.
	if n, err := insp.ListPendingTasks(tasks.QueueReplies); len(n) != 0 {
		t.Errorf("pending tasks %d (%v), want none", len(n), err)
	}
	if out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", page+"_1_2", "--text", "Hello"); code != exitOK {
		t.Errorf("enqueue --comment <page>_<post>_<comment>: exit %d, %q %q; want it queued", code, out, errOut)
	}
}

// TestEnqueueHelpNamesIDShape_audit19: enqueue -h lists the inputs the API
// answers 400 to, exit 2 here; a mis-shaped --comment or --post is one.
func TestEnqueueHelpNamesIDShape_audit19(t *testing.T) {
	stdout, _, code := runInProcess(t, nil, "enqueue", "-h")
	if code != exitOK {
		t.Fatalf("enqueue -h: exit %d", code)
	}
	flat := strings.Join(strings.Fields(stdout), " ")
	if !strings.Contains(flat, "a comment or post id in a shape no Graph id has") {
		t.Errorf("enqueue -h does not say that a mis-shaped id exits 2:\n%s", stdout)
	}
}
