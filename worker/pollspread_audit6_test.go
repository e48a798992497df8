package worker_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// TestStalePollKnowsThePageOffset: the scheduler polls each Page at an
// offset of its own past the spec's times (config.PollSchedule); the worker,
// which drops a poll that waited for a slot once its Page's next poll is due,
// must read the same times, or it drops polls up to a minute before their
// successor exists.
func TestStalePollKnowsThePageOffset(t *testing.T) {
	for _, spec := range []string{"*/5 * * * *", "@every 1m", "@hourly"} {
		t.Run(spec, func(t *testing.T) {
			var page string
			var sched interface{ Next(time.Time) time.Time }
			for _, id := range []string{"1983306698425200", "1983306698425201", "1983306698425202", "1983306698425203"} {
				s, err := config.PollSchedule(id, spec)
				if err != nil {
					t.Fatal(err)
				}
				ps, _ := config.ParseSchedule(spec)
				if config.PollOffset(id, ps) >= 2*time.Second {
					page, sched = id, s
					break
				}
			}
			if page == "" {
				t.Fatal("no Page with an offset of 2 s or more")
			}
			pl := worker.NewPoller(worker.PollParams{Pages: []config.Page{{ID: page, Schedule: spec}}})
			slot := sched.Next(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
			next := sched.Next(slot)
			b, _ := json.Marshal(tasks.Poll{PageID: page, Slot: slot.Unix()})
			task := asynq.NewTask(tasks.TypePoll, b)
			if pl.Stale(task, next.Add(-time.Second)) {
				t.Fatalf("poll of slot %s dropped at %s, before the next slot (%s)", slot, next.Add(-time.Second), next)
			}
			if !pl.Stale(task, next) {
				t.Fatalf("poll of slot %s kept at %s, when the next slot is due", slot, next)
			}
		})
	}
}
