package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
)

// TestSentinelFailoverEndToEnd runs the pipeline on a Sentinel set-up (a
// master, a replica, a sentinel), `pagereply serve` (every role) beside a
// second worker, and fails the master over mid-run. First the replica is
// frozen for a moment: replies wait (a send goes out only once a replica holds
// its claim) and flow again when it thaws. Then the master is killed with
// SIGKILL and the sentinel promotes the replica; the processes follow the
// sentinel to the new master. Every eligible comment and visitor post still
// gets exactly one reply, comments added after the failover get theirs, the
// monitor and readiness answer from the new master, and Graph never sees a
// target twice (no "already replied" refusal): what the failover forgot was
// settled by asking Graph, not by sending again.
func TestSentinelFailoverEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end Sentinel failover: about 20s")
	}
	s := redisproc.StartSentinel(t)
	redisYAML := fmt.Sprintf("  sentinel:\n    master: %s\n    addrs: [%s]\n", s.MasterName(), strings.Join(s.SentinelAddrs(), ", "))
	// 20 sends/s per Page: the seeded replies take several seconds, so the
	// failover hits a run in full flow.
	e := newEnv(t, sandbox.Options{Pages: 3, Posts: 10, Comments: 12, VisitorPosts: true, Seed: 22}, redisYAML, "20/s", 2)
	want, none := expect(e.sb, time.Now())
	if len(want) < 100 || len(none) == 0 {
		t.Fatalf("seeded %d eligible, %d ineligible: the test proves little", len(want), len(none))
	}
	t.Logf("seeded: %d must get a reply, %d must not", len(want), len(none))

	began := time.Now()
	serve := start(t, "serve", "serve", "-c", e.cfgPath)
	e.waitHealthy(t, serve)
	worker := start(t, "worker", "worker", "-c", e.cfgPath)
	procs := []*proc{serve, worker}
	alive := func() {
		for _, p := range procs {
			p.alive(t)
		}
	}
	sent := func() int { return len(e.sb.Sends()) }
	eventually(t, 30*time.Second, "a fifth of the replies", func() bool {
		alive()
		return sent() >= len(want)/5
	})

	// A replica that acknowledges nothing for longer than the workers wait
	// for it (1s): claims are not sent but put back, and go out once it thaws.
	replica := s.Replica()
	replica.Pause()
	time.Sleep(1500 * time.Millisecond)
	replica.Resume()
	eventually(t, 20*time.Second, "a worker to put back a reply whose claim no replica held", func() bool {
		return strings.Contains(serve.stderr.String()+worker.stderr.String(), `"msg":"claim not on a replica yet; reply put back"`)
	})
	atThaw := sent()
	eventually(t, 30*time.Second, "replies flowing again after the replica thawed", func() bool {
		alive()
		return sent() >= atThaw+10 || e.missing(want) == 0
	})

	atKill := sent()
	old, promoted := s.KillMaster()
	if promoted != replica {
		t.Fatalf("sentinel promoted %s, want the replica %s", promoted.Addr(), replica.Addr())
	}
	t.Logf("master %s killed after %d of %d sends; sentinel promoted %s, %s after the start",
		old.Addr(), atKill, len(want), promoted.Addr(), time.Since(began).Round(time.Millisecond))

	// Replies flow again within seconds of the promotion. The wait allows for
	// asynq's recoverer (a lease of 30s, then 30s more, on a one-minute tick):
	// a task whose dequeue the old master ran but never answered is active
	// with no worker until it puts the task back, and that is not a miss.
	eventually(t, 150*time.Second, fmt.Sprintf("replies to all %d eligible items after the failover", len(want)), func() bool {
		alive()
		return e.missing(want) == 0
	}, func() { e.explain(t, s.Client(), want) })
	t.Logf("%d eligible items answered %s after the start", len(want), time.Since(began).Round(time.Millisecond))

	fresh := e.addComments(1, 2)
	eventually(t, 30*time.Second, fmt.Sprintf("replies to %d comments added after the failover", len(fresh)), func() bool {
		alive()
		return e.missing(fresh) == 0
	}, func() { e.explain(t, s.Client(), fresh) })
	want = append(want, fresh...)

	// The monitor, through the api role, reads the new master.
	qs := e.monitorQueues(t)
	if _, ok := qs["replies"]; !ok {
		t.Errorf("monitor queues %v: no replies queue", qs)
	}
	var info struct {
		Addr string `json:"address"`
	}
	if code := e.get(t, "/monitor/api/redis_info", &info); code != 200 {
		t.Errorf("monitor redis_info: %d", code)
	}
	if code, _ := e.tryGet(t, "/readyz", nil); code != 200 {
		t.Errorf("readyz after the failover: %d", code)
	}

	time.Sleep(pollEvery + 500*time.Millisecond) // one more poll: nothing new
	alive()
	worker.stop(t, 40*time.Second)
	serve.stop(t, 40*time.Second)

	e.checkSends(t, want, none)
	if n := e.sb.AlreadyRepliedCount(); n != 0 {
		t.Errorf("%d sends refused by Graph as already replied: pagereply sent to a target again after the failover instead of asking Graph", n)
	}
	texts := map[string]string{}
	for _, p := range procs {
		texts[p.name+" stderr"] = p.stderr.String()
	}
	checkNoSecrets(t, e.secrets, texts)
}
