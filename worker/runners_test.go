package worker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

type ctxKey struct{}

// Runners pass the task, its context and the result through; run calls
// side by side rather than one after another; reuse an idle goroutine instead
// of starting one per task; turn a panic into the task's error and keep
// working; and exit once idle.
func TestRunners(t *testing.T) {
	r := newRunners(50 * time.Millisecond)

	ctx := context.WithValue(context.Background(), ctxKey{}, "v")
	errBoom := errors.New("boom")
	err := r.do(ctx, asynq.NewTask("x", []byte("p")), func(ctx context.Context, tk *asynq.Task) error {
		if ctx.Value(ctxKey{}) != "v" || tk.Type() != "x" || string(tk.Payload()) != "p" {
			t.Errorf("handler got ctx value %v, task %s %q", ctx.Value(ctxKey{}), tk.Type(), tk.Payload())
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("do = %v, want the handler's error", err)
	}

	// Sequential calls reuse the runner. Not always the same one: a caller
	// woken with its result can call again before the runner is back at its
	// receive (CI saw 2 for 21 under -race), and then starts another, which
	// idles out. Without reuse there would be 21.
	for i := 0; i < 20; i++ {
		if err := r.do(ctx, asynq.NewTask("x", nil), func(context.Context, *asynq.Task) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.started.Load(); n > 10 {
		t.Fatalf("%d runners started for 21 calls one after another; want them reused (at most 10)", n)
	}

	// Concurrent calls run side by side: each waits until all have started.
	const n = 8
	var all sync.WaitGroup
	all.Add(n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = r.do(ctx, asynq.NewTask("x", nil), func(context.Context, *asynq.Task) error {
				all.Done()
				all.Wait()
				return nil
			})
		}()
	}
	wg.Wait()
	if s := r.started.Load(); s < n {
		t.Fatalf("%d runners for %d calls at once", s, n)
	}

	// A panic is the task's error, and the runner goes on.
	err = r.do(ctx, asynq.NewTask("reply:send", nil), func(context.Context, *asynq.Task) error { panic("bad") })
	if err == nil || !strings.Contains(err.Error(), "panic handling task reply:send: bad") {
		t.Fatalf("panic came back as %v", err)
	}
	if err := r.do(ctx, asynq.NewTask("x", nil), func(context.Context, *asynq.Task) error { return nil }); err != nil {
		t.Fatal(err)
	}

	// Idle runners exit.
	deadline := time.Now().Add(10 * time.Second)
	for r.live.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d runners still live after 10 s idle", r.live.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
