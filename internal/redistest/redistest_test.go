package redistest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// fakeTB records what New asks of its test; Fatalf ends the goroutine, as the
// testing package's does.
type fakeTB struct {
	testing.TB
	cleanups []func()
	fatal    string
}

func (f *fakeTB) Helper()                          {}
func (f *fakeTB) Name() string                     { return "fake" }
func (f *fakeTB) Cleanup(fn func())                { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) Skipf(format string, args ...any) { f.Fatalf("skip: "+format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func (f *fakeTB) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// newDB runs New for tb on its own goroutine, so that a Fatalf ends only it.
func newDB(tb *fakeTB) *DB {
	done := make(chan *DB)
	go func() {
		var d *DB
		defer func() { done <- d }()
		d = New(tb)
	}()
	return <-done
}

// TestNeverFlushesOthersData: a database holding keys that no test wrote is
// left alone; one a killed test left behind is taken and flushed, and an empty
// one is taken; when every database holds others' data, New fails saying so.
// (miniredis: this is about which databases New picks, not about Redis.)
func TestNeverFlushesOthersData(t *testing.T) {
	m := miniredis.RunT(t)
	t.Setenv("PAGEREPLY_TEST_REDIS", m.Addr())
	ctx := context.Background()
	db := func(n int) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: m.Addr(), DB: n})
		t.Cleanup(func() { c.Close() })
		return c
	}
	for n := 1; n <= 15; n++ {
		if n != 7 {
			db(n).Set(ctx, "theirs", "keep me", 0)
		}
	}
	// Database 5 was a test's, killed before its cleanup.
	db(0).Set(ctx, "pagereply-test-used:5", "1234:TestKilled", 0)

	first := &fakeTB{TB: t}
	a := newDB(first)
	second := &fakeTB{TB: t}
	b := newDB(second)
	if a == nil || b == nil || a.DB != 5 || b.DB != 7 {
		t.Fatalf("took %v and %v (%q, %q), want databases 5 and 7", a, b, first.fatal, second.fatal)
	}
	if n := db(5).DBSize(ctx).Val(); n != 0 {
		t.Errorf("database 5 holds %d keys after New, want it flushed", n)
	}
	first.cleanup()
	second.cleanup()
	if n := db(0).Exists(ctx, "pagereply-test-used:5", "pagereply-test-used:7").Val(); n != 0 {
		t.Errorf("%d databases still marked as a test's after cleanup", n)
	}
	for n := 1; n <= 15; n++ {
		if v := db(n).Get(ctx, "theirs").Val(); (v == "keep me") != (n != 5 && n != 7) {
			t.Errorf("database %d: their key is %q", n, v)
		}
	}

	// Every database someone else's: New fails at once, naming the cause.
	db(5).Set(ctx, "theirs", "keep me", 0)
	db(7).Set(ctx, "theirs", "keep me", 0)
	third := &fakeTB{TB: t}
	if d := newDB(third); d != nil || !strings.Contains(third.fatal, "PAGEREPLY_TEST_REDIS") {
		t.Errorf("New with no database of its own: %v, %q", d, third.fatal)
	}
	for n := 1; n <= 15; n++ {
		if db(n).Get(ctx, "theirs").Val() != "keep me" {
			t.Errorf("database %d flushed", n)
		}
	}
}
