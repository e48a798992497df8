package chaos

import (
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestManyProcesses is issue 6: two `pagereply scheduler`, three `pagereply
// worker` and one `pagereply api` process (the real binary) share one Redis
// and the Graph sandbox. While they work, a worker and a scheduler are killed
// with SIGKILL and started again, comments are added, and replies are asked
// for through POST /v1/replies. In the end every eligible comment and visitor
// post (computed from the sandbox's data) has exactly one reply, nothing
// else has one, and no Page made more than rate + burst sends in any second.
//
// It takes about 70s: the replies a killed worker held come back when asynq's
// lease on them expires, about a minute after the kill.
func TestManyProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("many processes: about 70s")
	}
	db := redistest.New(t)
	r := newRig(t, rigOptions{
		sandbox:  sandbox.Options{Pages: 3, Posts: 12, Comments: 25, VisitorPosts: true, Seed: 61},
		redisURL: db.URL(), asynq: asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB},
		every: 2 * time.Second, rate: 20, burst: 4, noDefault: func(i int) bool { return i == 0 },
		concurrency: 10, maxRetry: 10, graphTimeout: 3 * time.Second,
	})
	seeded, _ := r.expect(time.Now())
	eligible := 0
	for _, it := range seeded {
		if it.reason == "" {
			eligible++
		}
	}
	if eligible < 300 {
		t.Fatalf("only %d eligible items seeded", eligible)
	}
	r.sb.SetFaults(sandbox.Faults{Latency: 5 * time.Millisecond, Jitter: 20 * time.Millisecond})

	api := r.start("api", "api")
	if err := r.waitReady(30 * time.Second); err != nil {
		t.Fatalf("%v\n%v", err, api.Alive())
	}
	var workers []*proctest.Proc
	for i := 1; i <= 3; i++ {
		workers = append(workers, r.start(fmt.Sprintf("worker-%d", i), "worker"))
	}
	sch1 := r.start("scheduler-1", "scheduler")
	r.start("scheduler-2", "scheduler")
	began := time.Now()

	// Mid-run: a quarter of the seeded replies sent.
	if err := r.waitSends(eligible/4, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.killRestart(workers[0], time.Second); err != nil {
		t.Fatal(err)
	}
	killedAt := len(r.sb.Sends())
	if err := r.killRestart(sch1, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed worker-1 and scheduler-1 (SIGKILL) after %d of %d seeded replies, %s in; both restarted",
		killedAt, eligible, time.Since(began).Round(time.Millisecond))
	if killedAt >= eligible {
		t.Fatalf("all %d replies sent before the kill: the test proves nothing", eligible)
	}

	// Comments added while it runs: some for the poll to find, some asked for
	// through the API (which may race the poll: 202 or 409, one reply either
	// way), one batch.
	n := 0
	for round := 0; round < 3; round++ {
		for i, pg := range r.pages {
			msg := []string{"price please", "nice!", "what PRICE?"}[round]
			r.addComment(pg.ID, n, fmt.Sprintf("Late%d%d Visitor", round, i), msg, false)
			n++
			id := r.addComment(pg.ID, n, fmt.Sprintf("Api%d%d Person", round, i), "price?", false)
			n++
			if _, err := r.postReply(pg.ID, id, fmt.Sprintf("Hello from the API, round %d", round)); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.alive(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
	}
	pg := r.pages[1].ID
	batch := []string{
		r.addComment(pg, n, "Batch One", "price", false),
		r.addComment(pg, n+1, "Batch Two", "price", false),
		r.addComment(pg, n+2, "Batch Three", "price", false),
	}
	if codes, err := r.postBatch(pg, batch, "Hello from a batch"); err != nil {
		t.Fatalf("%v (%v)", err, codes)
	}

	items, edge := r.expect(time.Now())
	want := 0
	for _, it := range items {
		if it.reason == "" {
			want++
		}
	}
	err := proctest.WaitFor(90*time.Second, fmt.Sprintf("replies to all %d eligible items", want), func() bool {
		if err := r.alive(); err != nil {
			t.Fatal(err)
		}
		return r.missing(items) == 0
	})
	if err != nil {
		t.Fatalf("%v: %d missing, %d sends", err, r.missing(items), len(r.sb.Sends()))
	}
	t.Logf("all %d eligible items answered %s after the processes started", want, time.Since(began).Round(time.Millisecond))

	// The restarted scheduler kept scheduling.
	if n := pollLines(t, sch1, "poll enqueued", 2) + pollLines(t, sch1, "poll already enqueued", 2); n == 0 {
		t.Errorf("scheduler-1 enqueued no poll after its restart")
	}
	// A little longer: late polls and retries must add nothing.
	time.Sleep(3 * time.Second)
	r.stopAll(t)
	r.killedMidSend = 1 // workers[0], killed once
	r.checkSends(t, items)
	r.reconcile(t, items, edge)
	r.checkNoSecrets(t)
	t.Logf("sends %d, max sends of a Page in one second %s (rate %d/s + burst %d), refused as already replied %d; stalls of the test's process (over %s late): %s",
		len(r.sb.Sends()), r.maxCallsIn(), r.o.rate, r.o.burst, r.sb.AlreadyRepliedCount(), sandbox.StallLate, r.stalls())
}
