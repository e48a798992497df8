package main

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestReplyIDHoldingASecretRefused_audit13: pagereply enqueue refused a text
// holding one of the configuration's secrets but queued any id: --comment
// given a Page's token (a script's variables mixed up) became the task's id
// and target, in the monitor, the ledger and the logs. Such an id is
// refused, exit 2 naming the flag and the secret's key, never its value.
func TestReplyIDHoldingASecretRefused_audit13(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	page := e.sb.Pages()[0]
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.db.Addr, DB: e.db.DB})
	t.Cleanup(func() { _ = insp.Close() })

	for i, tc := range []struct{ flag, id, target string }{
		{"--comment", page.Token, "comment:" + page.Token},
		{"--post", page.ID + "_" + e2eAppSecret, "post:" + page.ID + "_" + e2eAppSecret},
	} {
		out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, tc.flag, tc.id, "--text", "hello")
		if code != exitUsage || out != "" || !strings.Contains(errOut, tc.flag+" holds the value of") {
			t.Errorf("%d: enqueue %s holding a secret: exit %d, %q %q; want exit 2 naming %s", i, tc.flag, code, out, errOut, tc.flag)
		}
		checkNoSecrets(t, e.secrets, map[string]string{"enqueue stderr": errOut})
		if _, err := insp.GetTaskInfo(tasks.QueueReplies, tc.target); err == nil {
			t.Errorf("%d: enqueue queued an id holding a secret", i)
		}
	}
}
