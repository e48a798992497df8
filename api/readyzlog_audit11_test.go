package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// readyzLines counts the "readyz: ..." lines of a JSON log by level, from
// line from on (a count of lines already read).
func readyzLines(logs string, from int) (map[string]int, []string, int) {
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	levels := map[string]int{}
	var got []string
	for _, line := range lines[min(from, len(lines)):] {
		if !strings.Contains(line, `"msg":"readyz: `) {
			continue
		}
		for _, l := range []string{"DEBUG", "INFO", "WARN", "ERROR"} {
			if strings.Contains(line, `"level":"`+l+`"`) {
				levels[l]++
			}
		}
		got = append(got, line)
	}
	return levels, got, len(lines)
}

// TestReadyzLogSpaced_audit11: anyone who can reach api.addr can GET
// /readyz, and Kubernetes does every few seconds: while Redis refuses
// writes, probes failing for the same reason log one WARN and the rest at
// debug (each still answered 503 with its reason), a new reason (OOM, then
// READONLY once Redis is a replica) is a WARN at once, and so is the end of
// it (an INFO line counting the probes at debug), after which the next
// failure is a WARN at once again.
func TestReadyzLogSpaced_audit11(t *testing.T) {
	srv := redisproc.Start(t, redisproc.Options{Args: []string{"--maxmemory", "1mb", "--maxmemory-policy", "noeviction"}})
	admin := srv.Client()
	ctx := context.Background()
	opt := asynq.RedisClientOpt{Addr: srv.Addr()}
	e := newEnv(t, func(p *api.Params) {
		rdb := tasks.NewRedisClient(opt)
		t.Cleanup(func() { _ = rdb.Close() })
		p.Redis = rdb
	})
	redisproc.Room(t, admin, 1<<20)
	probe := func(want int, reason string) {
		t.Helper()
		status, m := e.do(t, "GET", "/readyz", "", "")
		if msg := errMessage(m); status != want || !strings.Contains(msg, reason) {
			t.Fatalf("/readyz: %d %v, want %d %s", status, m, want, reason)
		}
	}
	probe(200, "")
	levels, lines, seen := readyzLines(e.logs.String(), 0)
	if len(lines) != 0 {
		t.Fatalf("a passing probe logged %v", lines)
	}

	redisproc.FillUntilRefused(t, admin)
	for range 10 {
		probe(503, "OOM")
	}
	levels, lines, seen = readyzLines(e.logs.String(), seen)
	if levels["WARN"] != 1 || levels["DEBUG"] != 9 || len(lines) != 10 {
		t.Fatalf("10 probes refused for OOM: readyz lines by level %v, want 1 WARN and 9 DEBUG:\n%s", levels, strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], `"level":"WARN"`) || !strings.Contains(lines[0], "OOM command not allowed") {
		t.Errorf("the first line is not the WARN with Redis's error: %s", lines[0])
	}

	// A replica of an empty master: its data goes (memory too), its writes
	// are refused READONLY.
	master := redisproc.Start(t, redisproc.Options{})
	if err := admin.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(master.Port())).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, m := e.do(t, "GET", "/readyz", "", "")
		if status == 503 && strings.Contains(errMessage(m), "READONLY") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said READONLY: %d %v", status, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for range 4 {
		probe(503, "READONLY")
	}
	_, lines, seen = readyzLines(e.logs.String(), seen)
	var readonly []string
	for _, l := range lines {
		if strings.Contains(l, "READONLY") {
			readonly = append(readonly, l)
		}
	}
	if len(readonly) != 5 || !strings.Contains(readonly[0], `"level":"WARN"`) {
		t.Fatalf("a new reason (READONLY after OOM) is not a WARN at once:\n%s", strings.Join(lines, "\n"))
	}
	for _, l := range readonly[1:] {
		if !strings.Contains(l, `"level":"DEBUG"`) {
			t.Errorf("a probe after the first READONLY one not at debug: %s", l)
		}
	}

	// A master again, its memory freed (the sync may not have replaced
	// the data).
	if err := admin.SlaveOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	probe(200, "")
	probe(200, "")
	levels, lines, seen = readyzLines(e.logs.String(), seen)
	if levels["INFO"] != 1 || len(lines) != 1 || !strings.Contains(lines[0], "ready again") ||
		!strings.Contains(lines[0], `"repeated":4`) || !strings.Contains(lines[0], "READONLY") {
		t.Fatalf("the end of the failure is not one INFO line saying what it was and counting the 4 at debug:\n%s", strings.Join(lines, "\n"))
	}

	if err := admin.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(master.Port())).Err(); err != nil {
		t.Fatal(err)
	}
	probe(503, "READONLY")
	levels, lines, _ = readyzLines(e.logs.String(), seen)
	if levels["WARN"] != 1 || len(lines) != 1 {
		t.Fatalf("a failure within 10 s of the last one, after a passing probe, is not a WARN at once:\n%s", strings.Join(lines, "\n"))
	}
	_ = admin.SlaveOf(ctx, "NO", "ONE").Err()
}
