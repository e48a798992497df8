package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// TestStatusColumns: each number of status lands in its own column, so an
// operator reading SCHEDULED, RETRY, RUNS, RUNS_FAILED or PAUSED reads that
// count and not its neighbour's: a reply due later is SCHEDULED (not RETRY)
// for its queue and its Page, asynq's run totals are RUNS and RUNS_FAILED in
// that order, a paused queue says yes, and a paused Page says for how long and
// why. --count-limit 0 counts every task, as its help says, and says nothing
// of partial rows.
func TestStatusColumns(t *testing.T) {
	ctx := context.Background()
	st := newStatusEnv(t, 31)
	e, a, b, client, insp, ledger, enq, reply := st.e, st.a, st.b, st.client, st.insp, st.ledger, st.enq, st.reply
	if out, _, err := enq.Enqueue(ctx, reply(a, 1)); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", out, err)
	}
	// Two of a's replies due in an hour: scheduled, not retrying.
	for i := 2; i <= 3; i++ {
		r := reply(a, i)
		payload, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Enqueue(asynq.NewTask(tasks.TypeReply, payload), asynq.Queue(tasks.QueueReplies),
			asynq.TaskID(r.Target.String()), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// asynq's run totals (its processed and failed counters), 7 and 2.
	if err := e.db.Client.Set(ctx, "asynq:{"+tasks.QueueReplies+"}:processed", 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Client.Set(ctx, "asynq:{"+tasks.QueueReplies+"}:failed", 2, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := insp.PauseQueue(tasks.QueueReplies); err != nil {
		t.Fatal(err)
	}
	const why = "throttled: (#80006) There have been too many messages sent to this user"
	if _, err := ledger.Pause(ctx, b, time.Hour, why); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := run(t, "status", "-c", e.cfgPath, "--count-limit", "0")
	if code != exitOK {
		t.Fatalf("status --count-limit 0: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, row := range []string{
		`(?m)^replies\s+1\s+0\s+2\s+0\s+0\s+0\s+7\s+2\s+yes$`,
		`(?m)^polls\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+no$`,
		`(?m)^` + a + `\s+1\s+0\s+2\s+0\s+0\s+0\s+0\s+no$`,
		`(?m)^` + b + `\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+for (59m5\d|1h0m0)s: ` + regexp.QuoteMeta(why) + `$`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("status output has no line matching %s:\n%s", row, out)
		}
	}
	if strings.Contains(out, "(not configured)") {
		t.Errorf("a configured Page's replies shown as of a Page not configured:\n%s", out)
	}
	if strings.Contains(out, "--count-limit 0 counts all") {
		t.Errorf("status --count-limit 0 says its rows are partial:\n%s", out)
	}
}

// TestResumeRepliesWithoutItems: resume of a Page whose throttled pause held
// replies but no webhook items says how many replies it put back (a count of
// 0 items does not hide the line), makes them runnable now, and says nothing
// of forgotten pauses when the pause had no escalation to forget.
func TestResumeRepliesWithoutItems(t *testing.T) {
	w := newWakeRig(t, "20/s", 2)
	page := w.page.ID
	const why = "throttled: (#80006) There have been too many messages sent to this user"
	w.pauseHour(t, why)
	p := w.worker(t)
	w.enqueue(t)
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	eventually(t, 20*time.Second, "the replies put back for the pause", func() bool {
		q, err := insp.GetQueueInfo(tasks.QueueReplies)
		return err == nil && q.Retry == len(w.replies)
	})
	stop(t, p)

	out, errOut, code := run(t, "resume", "-c", w.e.cfgPath, "--page", page)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 2 || !strings.HasPrefix(lines[0], "page "+page+": lifted its throttled pause, ") ||
		!strings.HasSuffix(lines[0], ": "+why) ||
		lines[1] != "page "+page+": 2 replies and 0 webhook items put back for the pause run now" {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, r := range w.replies {
		ti, err := insp.GetTaskInfo(tasks.QueueReplies, r.Target.String())
		if err != nil || ti.State != asynq.TaskStatePending {
			t.Fatalf("reply %s after resume: %v (%v), want pending", r.Target, ti, err)
		}
	}
}

// TestResumeRedisAwayClaimsNothing: with Redis out of reach, resume exits 1
// and says nothing of the Page's pause on stdout: it cannot know whether the
// Page was paused, and "was not paused" would tell the operator that the
// Page is sending when its pause still holds.
func TestResumeRedisAwayClaimsNothing(t *testing.T) {
	t.Parallel() // mostly waits on a refused port
	cfg := refusedRedisConfig(t)
	out, errOut, code := run(t, "resume", "-c", cfg, "--page", "123")
	if code != exitError || out != "" || !strings.Contains(errOut, "pagereply resume: ") {
		t.Fatalf("resume with Redis away: exit %d\nstdout: %q\nstderr: %s", code, out, errOut)
	}
}
