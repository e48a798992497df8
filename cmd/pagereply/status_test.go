package main

import (
	"context"
	"fmt"
	"regexp"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// statusEnv is the set-up of the status tests: a sandbox of two Pages with
// one post each, their config, and what the tests queue replies with.
type statusEnv struct {
	e      *e2e
	a, b   string // the Pages' ids
	client *asynq.Client
	insp   *asynq.Inspector
	ledger *tasks.Ledger
	enq    *tasks.Enqueuer
}

func newStatusEnv(t *testing.T, seed int64) *statusEnv {
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 1, Comments: 0, Seed: seed}, "10/s")
	client := asynq.NewClientFromRedisClient(e.db.Client)
	ledger := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	return &statusEnv{e: e, a: e.sb.Pages()[0].ID, b: e.sb.Pages()[1].ID, client: client,
		insp: asynq.NewInspectorFromRedisClient(e.db.Client), ledger: ledger,
		enq: &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 3}}
}

// reply is the API's reply to comment <page>_<i>.
func (*statusEnv) reply(page string, i int) tasks.Reply {
	return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: fmt.Sprintf("%s_%d", page, i)}, Text: "hi", Source: tasks.SourceAPI}
}

// TestStatusPerPage: status counts each Page's reply tasks per state beside
// its sends, as SPEC's "per queue and per Page" asks, and shows the replies
// of a Page the config no longer has.
func TestStatusPerPage(t *testing.T) {
	ctx := context.Background()
	st := newStatusEnv(t, 3)
	e, a, b, insp, ledger, enq, reply := st.e, st.a, st.b, st.insp, st.ledger, st.enq, st.reply
	for _, r := range []tasks.Reply{reply(a, 1), reply(a, 2), reply(a, 3), reply(b, 1), reply("424242", 1)} {
		if out, _, err := enq.Enqueue(ctx, r); err != nil || out != tasks.Enqueued {
			t.Fatalf("enqueue %v: %v %v", r.Target, out, err)
		}
	}
	if err := insp.ArchiveTask(tasks.QueueReplies, reply(a, 3).Target.String()); err != nil {
		t.Fatal(err)
	}
	if err := ledger.MarkSent(ctx, b, reply(b, 9).Target, "m_9"); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := run(t, "status", "-c", e.cfgPath)
	if code != exitOK {
		t.Fatalf("status: %d\n%s\n%s", code, out, errOut)
	}
	for _, row := range []string{
		`(?m)^QUEUE\s+PENDING\s+ACTIVE\s+SCHEDULED\s+RETRY\s+ARCHIVED\s+COMPLETED\s+RUNS\s+RUNS_FAILED\s+PAUSED$`,
		`(?m)^PAGE\s+PENDING\s+ACTIVE\s+SCHEDULED\s+RETRY\s+ARCHIVED\s+SENT\s+FAILED\s+PAUSED$`,
		`(?m)^RUNS and RUNS_FAILED count every run of a task`,
		`(?m)^` + a + `\s+2\s+0\s+0\s+0\s+1\s+0\s+0\s+no$`,
		`(?m)^` + b + `\s+1\s+0\s+0\s+0\s+0\s+1\s+0\s+no$`,
		`(?m)^424242 \(not configured\)\s+1\s+0\s+0\s+0\s+0\s+-\s+-\s+-$`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("status output has no line matching %s:\n%s", row, out)
		}
	}

	// A count limit below a state's size says the rows are partial.
	out, errOut, code = run(t, "status", "-c", e.cfgPath, "--count-limit", "2")
	if code != exitOK || !regexp.MustCompile(`first 2 reply tasks of each state; pending held more`).MatchString(out) {
		t.Fatalf("status --count-limit 2: %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := run(t, "status", "-c", e.cfgPath, "--count-limit", "-1"); code != exitUsage || !regexp.MustCompile(`--count-limit`).MatchString(errOut) {
		t.Fatalf("status --count-limit -1: %d %s", code, errOut)
	}
}
