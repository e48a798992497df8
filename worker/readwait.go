package worker

import (
	"context"
	"time"

	"github.com/pagereply/pagereply/tasks"
)

// ReadWait is one read's way to its slot of a Page's read schedule, the
// same for every reader: a poll's listing read, a webhook item's read, a
// waiting reply's check, a request's conversation read (the API, pagereply
// enqueue). Each reader books and maps errors its own way (Take, Check);
// AwaitRead waits between them and keeps the reads on the schedule when
// Redis was away.
type ReadWait struct {
	// Limit is the schedule's (its Interval tells a late check).
	Limit tasks.Limit
	// Take books the read's slot and returns the wait to it, or the error
	// AwaitRead returns as it is. retake is true for the new slot a read
	// takes after a late check (at most once).
	Take func(ctx context.Context, retake bool) (time.Duration, error)
	// Check is asked after a wait whether the read may still go (the
	// Page's pause): its error is returned as it is.
	Check func(ctx context.Context) error
	// CheckFirst asks Check for the first slot even when it was due at
	// once (a read before this one may have paused the Page).
	CheckFirst bool
}

// ReadWaitEnded is AwaitRead's error when ctx ends during a wait.
type ReadWaitEnded struct{ Err error }

func (e *ReadWaitEnded) Error() string { return "waiting for a read slot: " + e.Err.Error() }
func (e *ReadWaitEnded) Unwrap() error { return e.Err }

// AwaitRead books a read's slot (w.Take), waits for it, and asks w.Check
// whether the read may still go; nil means read now. A Check that came
// back late (ReadLate: Redis away for a moment, frozen or restarted, holds
// every such check and answers them all at once) takes a new slot, on the
// schedule as Redis has it now, and waits for it: every read whose slot
// came due meanwhile would otherwise go to Graph at once, past the Page's
// read limit (80001). Once only: a Redis slow on every call still lets the
// read go. A slot due at once is not checked again.
func AwaitRead(ctx context.Context, w ReadWait) error {
	check := w.CheckFirst
	for retake := false; ; retake = true {
		wait, err := w.Take(ctx, retake)
		if err != nil {
			return err
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return &ReadWaitEnded{Err: ctx.Err()}
			case <-t.C:
			}
			check = true
		}
		if !check {
			return nil
		}
		due := time.Now()
		if err := w.Check(ctx); err != nil {
			return err
		}
		if retake || !ReadLate(due, w.Limit) {
			return nil
		}
		check = false
	}
}

// ReadLate reports whether a read whose slot came due at due, and whose
// pause check (a Redis round trip) returned only now, is late enough that
// other reads' slots may have come due meanwhile: by more than one of the
// schedule's intervals, at least minReadLate. Redis away for a moment (frozen,
// restarted) holds every such check, and answers them all at once: their
// reads went to Graph together, past the Page's read limit (80001).
func ReadLate(due time.Time, lim tasks.Limit) bool {
	return time.Since(due) > max(lim.Interval, minReadLate)
}

// minReadLate is ReadLate's least lateness: well past a round trip to a
// busy Redis, so a late check means Redis was away.
const minReadLate = 100 * time.Millisecond
