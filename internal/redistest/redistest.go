// Package redistest gives integration tests a real Redis database of their own.
//
// Tests talk to the Redis at PAGEREPLY_TEST_REDIS (default 127.0.0.1:6379). Each
// call to New locks one of databases 1–15 for the test (so test binaries running
// in parallel never share one), flushes it, and flushes and unlocks it in
// cleanup. A database that holds keys is used only when a test took it before
// (a run killed before its cleanup): one holding someone else's data is never
// flushed. Without a Redis the test is skipped, unless CI is set: then it fails.
package redistest

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr returns the test Redis address.
func Addr() string {
	if a := os.Getenv("PAGEREPLY_TEST_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// DB is one locked test database.
type DB struct {
	Addr   string
	DB     int
	Client *redis.Client
}

// URL returns the database as a redis:// URL.
func (d *DB) URL() string { return fmt.Sprintf("redis://%s/%d", d.Addr, d.DB) }

// testsOwn reports whether a test may flush c's database: it is empty, or a
// test took it and did not clean it up (usedKey is set).
func testsOwn(ctx context.Context, lock, c *redis.Client, usedKey string) (bool, error) {
	n, err := c.DBSize(ctx).Result()
	if err != nil || n == 0 {
		return err == nil, err
	}
	used, err := lock.Exists(ctx, usedKey).Result()
	return used == 1, err
}

// New locks a free database for t, or skips t (fails it under CI) when no Redis answers.
func New(t testing.TB) *DB {
	t.Helper()
	addr := Addr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lock := redis.NewClient(&redis.Options{Addr: addr, DB: 0})
	if err := lock.Ping(ctx).Err(); err != nil {
		_ = lock.Close()
		if os.Getenv("CI") != "" {
			t.Fatalf("redistest: no Redis at %s (set PAGEREPLY_TEST_REDIS): %v", addr, err)
		}
		t.Skipf("redistest: no Redis at %s (set PAGEREPLY_TEST_REDIS to run integration tests): %v", addr, err)
	}
	owner := strconv.Itoa(os.Getpid()) + ":" + t.Name()
	foreign := map[int]bool{}
	for {
		for db := 1; db <= 15; db++ {
			if foreign[db] {
				continue
			}
			key := "pagereply-test-lock:" + strconv.Itoa(db)
			ok, err := lock.SetNX(ctx, key, owner, 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("redistest: lock db %d: %v", db, err)
			}
			if !ok {
				continue
			}
			c := redis.NewClient(&redis.Options{Addr: addr, DB: db})
			// usedKey (in database 0, beside the lock) says a test took db
			// and has not cleaned it up yet: its keys are a test's.
			usedKey := "pagereply-test-used:" + strconv.Itoa(db)
			mine, err := testsOwn(ctx, lock, c, usedKey)
			if err != nil {
				t.Fatalf("redistest: db %d: %v", db, err)
			}
			if !mine {
				foreign[db] = true
				_ = c.Close()
				_ = lock.Del(ctx, key).Err()
				continue
			}
			if err := lock.Set(ctx, usedKey, owner, 0).Err(); err != nil {
				t.Fatalf("redistest: mark db %d: %v", db, err)
			}
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("redistest: flush db %d: %v", db, err)
			}
			t.Cleanup(func() {
				cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer ccancel()
				if c.FlushDB(cctx).Err() == nil {
					_ = lock.Del(cctx, usedKey).Err()
				}
				_ = c.Close()
				_ = lock.Del(cctx, key).Err()
				_ = lock.Close()
			})
			return &DB{Addr: addr, DB: db, Client: c}
		}
		if len(foreign) == 15 {
			t.Fatalf("redistest: databases 1–15 of the Redis at %s all hold keys no pagereply test marked as its own; "+
				"the tests flush the databases they use, so they leave these alone: set PAGEREPLY_TEST_REDIS to a Redis for tests "+
				"(or, if they are an older test run's leftovers, empty them: redis-cli -n N flushdb)", addr)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("redistest: no free test database on %s after 10s", addr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
