package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// breakRetrySet leaves the replies queue listed with its state's set (retry
// or archived) no sorted set, so that reading it fails.
func breakRetrySet(t *testing.T, h *harness, state string) {
	t.Helper()
	ctx := context.Background()
	if err := h.db.Client.SAdd(ctx, "asynq:queues", tasks.QueueReplies).Err(); err != nil {
		t.Fatal(err)
	}
	if err := h.db.Client.Set(ctx, "asynq:{"+tasks.QueueReplies+"}:"+state, "not a zset", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// unrunnable makes asynq refuse to run the listed task id of the replies
// queue with an error of its own (its record names another state than the
// set it is in).
func unrunnable(t *testing.T, h *harness, id string) {
	t.Helper()
	if err := h.db.Client.HSet(context.Background(), "asynq:{"+tasks.QueueReplies+"}:t:"+id, "state", "scheduled").Err(); err != nil {
		t.Fatal(err)
	}
}

// TestWakeFailuresReported: when the put-back replies cannot be read, one
// of them cannot be run, or a Page's put-back schedule cannot be restarted
// before its slow rate put-backs run, WakePutBacks and RunArchivedOfPages
// say so rather than report the wake-up done (the operator's resume, or a
// start-up, would otherwise leave replies waiting, or run them on the old
// schedule, with nothing said).
func TestWakeFailuresReported(t *testing.T) {
	const paused = "put back for 5m0s: page paused: policy_block: (#368) blocked"
	wake := func(h *harness, insp *asynq.Inspector) error {
		_, err := worker.WakePutBacks(context.Background(), insp, h.ledger, map[string]worker.Wake{h.pages[0].ID: {Lifted: true}})
		return err
	}
	archived := func(h *harness, insp *asynq.Inspector) error {
		_, err := worker.RunArchivedOfPages(context.Background(), enqOn(h.enq, insp), map[string]bool{h.pages[0].ID: true})
		return err
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, h *harness)
		run   func(h *harness, insp *asynq.Inspector) error
		want  string
	}{
		{"put-backs unread", func(t *testing.T, h *harness) { breakRetrySet(t, h, "retry") }, wake, "wake put-back replies"},
		{"put-back not run", func(t *testing.T, h *harness) {
			leavePutBacks(t, h, []putBack{{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "held", page: h.pages[0].ID, lastErr: paused, delay: time.Hour}})
			unrunnable(t, h, "held")
		}, wake, "run task held"},
		{"schedule not restarted", func(t *testing.T, h *harness) {
			var pbs []putBack
			for _, d := range []time.Duration{time.Second, 2 * time.Second, 10 * time.Second} {
				pbs = append(pbs, putBack{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "slot" + d.String(), page: h.pages[0].ID,
					lastErr: "put back for " + d.String() + ": page rate used up", delay: d})
			}
			leavePutBacks(t, h, pbs)
		}, func(h *harness, insp *asynq.Inspector) error {
			// The ledger's Redis is away; asynq's is not.
			away := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
			defer away.Close()
			ledger := tasks.NewLedger(away, tasks.LedgerOptions{})
			defer ledger.Close()
			_, err := worker.WakePutBacks(context.Background(), insp, ledger, map[string]worker.Wake{h.pages[0].ID: {Interval: time.Second}})
			return err
		}, "restart put-backs"},
		{"archived unread", func(t *testing.T, h *harness) { breakRetrySet(t, h, "archived") }, archived, "run archived replies"},
		{"archived not run", func(t *testing.T, h *harness) {
			page := h.pages[0].ID
			leavePutBacks(t, h, []putBack{{queue: tasks.QueueReplies, typ: tasks.TypeReply, id: "back", page: page, lastErr: "page " + page + " is not configured on this worker", archived: true}})
			unrunnable(t, h, "back")
		}, archived, "run task back"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, sandbox.Options{Pages: 1, Seed: 98})
			tc.setup(t, h)
			insp := asynq.NewInspector(h.opt)
			t.Cleanup(func() { _ = insp.Close() })
			if err := tc.run(h, insp); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
