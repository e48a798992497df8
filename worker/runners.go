package worker

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
)

// runners runs reply handlers on goroutines that outlive a task. asynq starts
// a fresh goroutine for every task, with the runtime's small starting stack;
// a reply's work (the ledger's batcher, the Graph client) runs deeper, so
// each task paid two or three stack copies as its goroutine grew (stack
// growth was 11 % of the reply phase's CPU in `pagereply bench pipeline`'s
// profile, 8 % of bare asynq's). A runner keeps its grown stack from task to
// task: asynq's
// goroutine hands the task over and waits for its result. A runner that finds
// no task within idle exits, so a quiet worker keeps none.
type runners struct {
	jobs chan *runJob
	idle time.Duration
	// started counts runner goroutines started, live those running now.
	started, live atomic.Int64
}

type runJob struct {
	ctx context.Context
	t   *asynq.Task
	h   asynq.HandlerFunc
	res chan error
}

func newRunners(idle time.Duration) *runners {
	return &runners{jobs: make(chan *runJob), idle: idle}
}

// do runs h(ctx, t) on an idle runner, or on a new one when none is idle,
// and returns its result. A panic in h comes back as an error.
func (r *runners) do(ctx context.Context, t *asynq.Task, h asynq.HandlerFunc) error {
	j := &runJob{ctx: ctx, t: t, h: h, res: make(chan error, 1)}
	select {
	case r.jobs <- j:
	default:
		r.started.Add(1)
		r.live.Add(1)
		go r.run(j)
	}
	return <-j.res
}

func (r *runners) run(j *runJob) {
	defer r.live.Add(-1)
	timer := time.NewTimer(r.idle)
	defer timer.Stop()
	for {
		j.res <- j.call()
		timer.Reset(r.idle)
		select {
		case j = <-r.jobs:
			timer.Stop()
		case <-timer.C:
			return
		}
	}
}

// call runs the job's handler, turning a panic into an error as asynq does
// for handlers it runs itself.
func (j *runJob) call() (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("panic handling task %s: %v\n%s", j.t.Type(), x, debug.Stack())
		}
	}()
	return j.h(j.ctx, j.t)
}
