package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestClusterEndToEnd runs the whole pipeline on a 3-master Redis Cluster:
// `pagereply serve` (every role) beside a second worker and a second
// scheduler, 3 Pages polled every 2s. Every eligible comment and visitor post
// gets exactly one reply with the right text, comments added while it runs
// get theirs, the monitor and status read the queues through the cluster,
// pagereply's and asynq's keys spread over the masters (so the Lua scripts and
// transactions ran on several nodes without CROSSSLOT), and no secret reaches
// Redis.
func TestClusterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end on a Redis Cluster: about 15s")
	}
	cluster := redisproc.StartClusterWithReplicas(t, 3, 1) // claims wait for a replica of their shard
	redisYAML := fmt.Sprintf("  cluster:\n    addrs: [%s]\n", strings.Join(cluster.Addrs(), ", "))
	e := newEnv(t, sandbox.Options{Pages: 3, Posts: 10, Comments: 12, VisitorPosts: true, Seed: 21}, redisYAML, "200/s", 10)
	want, none := expect(e.sb, time.Now())
	if len(want) < 100 || len(none) == 0 {
		t.Fatalf("seeded %d eligible, %d ineligible: the test proves little", len(want), len(none))
	}
	t.Logf("seeded: %d must get a reply, %d must not", len(want), len(none))

	began := time.Now()
	serve := start(t, "serve", "serve", "-c", e.cfgPath)
	e.waitHealthy(t, serve)
	worker := start(t, "worker", "worker", "-c", e.cfgPath)
	sched := start(t, "scheduler", "scheduler", "-c", e.cfgPath)
	procs := []*proc{serve, worker, sched}
	alive := func() {
		for _, p := range procs {
			p.alive(t)
		}
	}

	eventually(t, 40*time.Second, fmt.Sprintf("replies to all %d eligible items", len(want)), func() bool {
		alive()
		return e.missing(want) == 0
	}, func() { e.explain(t, cluster.Client(), want) })
	t.Logf("%d eligible items answered after %s", len(want), time.Since(began).Round(time.Millisecond))

	fresh := e.addComments(1, 3)
	eventually(t, 30*time.Second, fmt.Sprintf("replies to %d comments added while running", len(fresh)), func() bool {
		alive()
		return e.missing(fresh) == 0
	}, func() { e.explain(t, cluster.Client(), fresh) })
	want = append(want, fresh...)

	// The monitor, through the api role, reads asynq's queues on the cluster.
	qs := e.monitorQueues(t)
	if _, ok := qs["replies"]; !ok {
		t.Errorf("monitor queues %v: no replies queue", qs)
	}
	if _, ok := qs["polls"]; !ok {
		t.Errorf("monitor queues %v: no polls queue", qs)
	}
	var info struct {
		Cluster        bool `json:"cluster"`
		QueueLocations []struct {
			Queue string   `json:"queue"`
			Nodes []string `json:"nodes"`
		} `json:"queue_locations"`
	}
	if code := e.get(t, "/monitor/api/redis_info", &info); code != 200 || !info.Cluster || len(info.QueueLocations) == 0 {
		t.Errorf("monitor redis_info: %d, cluster %v, queue locations %v", code, info.Cluster, info.QueueLocations)
	}
	var srvBody struct {
		Servers []struct {
			PID    int            `json:"pid"`
			Queues map[string]int `json:"queue_priorities"`
		} `json:"servers"`
	}
	if code := e.get(t, "/monitor/api/servers", &srvBody); code != 200 {
		t.Errorf("monitor servers: %d", code)
	}
	// Each worker process runs two asynq servers: replies, and polls with
	// webhook items.
	queues := map[int][]string{}
	for _, s := range srvBody.Servers {
		for q := range s.Queues {
			queues[s.PID] = append(queues[s.PID], q)
		}
	}
	if len(queues) != 2 || len(srvBody.Servers) != 4 {
		t.Errorf("monitor lists %d asynq servers of %d processes, want 4 of 2: %v", len(srvBody.Servers), len(queues), queues)
	}
	for pid, qs := range queues {
		if slices.Sort(qs); !slices.Equal(qs, []string{tasks.QueuePolls, tasks.QueueReplies}) {
			t.Errorf("process %d serves queues %v", pid, qs)
		}
	}

	// A couple more poll periods: nothing new to send.
	time.Sleep(2*pollEvery + 500*time.Millisecond)
	alive()
	status := start(t, "status", "status", "-c", e.cfgPath)
	select {
	case <-status.done:
	case <-time.After(30 * time.Second):
		t.Fatal("status did not finish")
	}
	if status.code != 0 || !strings.Contains(status.stdout.String(), "replies") {
		t.Errorf("status exited %d:\n%s\n%s", status.code, status.stdout, status.stderr)
	}
	sched.stop(t, 30*time.Second)
	worker.stop(t, 30*time.Second)
	serve.stop(t, 30*time.Second)

	e.checkSends(t, want, none)
	if n := e.sb.AlreadyRepliedCount(); n != 0 {
		t.Errorf("%d sends refused by Graph as already replied: pagereply tried a target twice", n)
	}

	// Keys of every kind on more than one master, and no secret among them.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	per := map[string][2]int{} // master: pagereply keys, asynq keys
	var dump strings.Builder
	err := cluster.Client().ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		all, n, err := redistest.Dump(ctx, m)
		if err != nil {
			return err
		}
		pr := len(m.Keys(ctx, "pagereply:*").Val())
		mu.Lock()
		defer mu.Unlock()
		per[m.Options().Addr] = [2]int{pr, n - pr}
		dump.WriteString(all)
		return nil
	})
	if err != nil {
		t.Fatalf("read the masters' keys: %v", err)
	}
	withPR, withAsynq := 0, 0
	for _, c := range per {
		if c[0] > 0 {
			withPR++
		}
		if c[1] > 0 {
			withAsynq++
		}
	}
	t.Logf("keys per master (pagereply, other): %v", per)
	if len(per) != 3 || withPR+withAsynq < 3 || withPR == 0 || withAsynq == 0 {
		t.Errorf("keys per master %v: want pagereply's and asynq's keys spread over the 3 masters", per)
	}
	texts := map[string]string{"Redis keys and values": dump.String()}
	for _, p := range procs {
		texts[p.name+" stderr"] = p.stderr.String()
	}
	checkNoSecrets(t, e.secrets, texts)
	for _, p := range procs {
		if os.Getenv("E2E_DUMP") != "" {
			t.Logf("%s stderr:\n%s", p.name, p.stderr)
		}
		if s := p.stderr.String(); strings.Contains(s, "CROSSSLOT") || strings.Contains(s, "MOVED") {
			t.Errorf("%s logged a cluster error:\n%s", p.name, lastBytes(s, 2000))
		}
	}
}
