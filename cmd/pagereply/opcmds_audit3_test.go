package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// TestHealthRoutesGetOnlyAudit3: /readyz and /metrics of --health-addr
// answer GET only, as /healthz does (a POST is no route, 404), and the JSON
// answers end with a newline, in the API's shape.
func TestHealthRoutesGetOnlyAudit3(t *testing.T) {
	db := redistest.New(t)
	h := startHealth(t, db.Client, metrics.New())
	base := "http://" + h.Addr()
	for _, path := range []string{"/readyz", "/metrics"} {
		resp, err := http.Post(base+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "no such route: POST "+path) {
			t.Errorf("POST %s: %d %q, want 404 no such route", path, resp.StatusCode, b)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, base+path); code != 200 || body != `{"status":"ok"}`+"\n" {
			t.Errorf("GET %s: %d %q, want 200 %q", path, code, body, `{"status":"ok"}`+"\n")
		}
	}
}

// TestStopBudgetCoversBothPhasesAudit3: the stop time a role's -h promises
// (and deploy/ allows between SIGTERM and SIGKILL) covers both phases of a
// stop: the scheduler's and API's shutdown, then the worker's drain.
func TestStopBudgetCoversBothPhasesAudit3(t *testing.T) {
	out, _, code := runInProcess(t, nil, "worker", "-h")
	if want := "stops within " + (shutdownTimeout + workerDrain).String(); code != exitOK || !strings.Contains(out, want) {
		t.Fatalf("worker -h: exit %d, no %q in\n%s", code, want, out)
	}
}

// TestHealthcheckUnparsableURLAudit3: a --url that does not parse is a
// failed check saying what is wrong with --url (exit 1), not a crash.
func TestHealthcheckUnparsableURLAudit3(t *testing.T) {
	for _, u := range []string{"http://[::1", "http://%zz/healthz"} {
		out, errOut, code := runInProcess(t, nil, "healthcheck", "--url", u)
		if code != exitError || out != "" || errOut != "pagereply healthcheck: --url must be an http:// or https:// URL with a host\n" {
			t.Errorf("healthcheck --url %q: exit %d, stdout %q, stderr %q", u, code, out, errOut)
		}
	}
}

// TestCheckWorkerNumbersAudit3: check's summary puts the worker's
// concurrency and max_retry each beside its own name.
func TestCheckWorkerNumbersAudit3(t *testing.T) {
	t.Setenv("AUDIT3_CHECK_TOKEN", "EAABaudit3checktoken")
	cfg := filepath.Join(t.TempDir(), "w.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/3\nworker:\n  concurrency: 7\n  max_retry: 4\n" +
		"pages:\n  - id: \"77\"\n    access_token: ${AUDIT3_CHECK_TOKEN}\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, nil, "check", "-c", cfg, "--insecure")
	if code != exitOK || !strings.Contains(out, ", worker concurrency 7, max_retry 4, ") {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
}

// moveTask moves a reply task that asynq holds as scheduled into another
// state (active, retry or completed) the way asynq keeps it, so that status can be
// shown a queue in every state without running a worker.
func moveTask(t *testing.T, rdb redis.UniversalClient, id string, state asynq.TaskState) {
	t.Helper()
	ctx := context.Background()
	prefix := "asynq:{" + tasks.QueueReplies + "}:"
	if err := rdb.ZRem(ctx, prefix+"scheduled", id).Err(); err != nil {
		t.Fatal(err)
	}
	var err error
	switch state {
	case asynq.TaskStateActive:
		err = rdb.LPush(ctx, prefix+"active", id).Err()
	case asynq.TaskStateRetry, asynq.TaskStateCompleted:
		err = rdb.ZAdd(ctx, prefix+state.String(), redis.Z{Score: float64(time.Now().Add(time.Hour).Unix()), Member: id}).Err()
	default:
		t.Fatalf("moveTask to %s", state)
	}
	if err == nil {
		err = rdb.HSet(ctx, prefix+"t:"+id, "state", state.String()).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatusEveryStateColumnAudit3: with a different number of reply tasks
// in each state, each number lands under its own heading, on the queue row,
// a configured Page's row and the row of a Page no longer configured:
// ACTIVE, RETRY, ARCHIVED and COMPLETED are not each other's.
func TestStatusEveryStateColumnAudit3(t *testing.T) {
	ctx := context.Background()
	st := newStatusEnv(t, 47)
	rdb := st.e.db.Client
	schedule := func(r tasks.Reply) string {
		t.Helper()
		payload, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		id := r.Target.String()
		if _, err := st.client.Enqueue(asynq.NewTask(tasks.TypeReply, payload), asynq.Queue(tasks.QueueReplies),
			asynq.TaskID(id), asynq.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return id
	}
	i := 0
	next := func(page string) tasks.Reply { i++; return st.reply(page, i) }
	// Page a: 1 pending, 2 active, 4 scheduled, 3 retry, 6 archived.
	if out, _, err := st.enq.Enqueue(ctx, next(st.a)); err != nil || out != tasks.Enqueued {
		t.Fatalf("enqueue: %v %v", out, err)
	}
	for range 2 {
		moveTask(t, rdb, schedule(next(st.a)), asynq.TaskStateActive)
	}
	for range 4 {
		schedule(next(st.a))
	}
	for range 3 {
		moveTask(t, rdb, schedule(next(st.a)), asynq.TaskStateRetry)
	}
	for range 6 {
		if err := st.insp.ArchiveTask(tasks.QueueReplies, schedule(next(st.a))); err != nil {
			t.Fatal(err)
		}
	}
	// A Page no longer configured: 1 active, 2 retry.
	const gone = "515151"
	moveTask(t, rdb, schedule(next(gone)), asynq.TaskStateActive)
	for range 2 {
		moveTask(t, rdb, schedule(next(gone)), asynq.TaskStateRetry)
	}
	// 7 completed (asynq keeps them only with a retention).
	for range 7 {
		moveTask(t, rdb, schedule(next(st.a)), asynq.TaskStateCompleted)
	}

	out, errOut, code := run(t, "status", "-c", st.e.cfgPath)
	if code != exitOK {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, row := range []string{
		`(?m)^replies\s+1\s+3\s+4\s+5\s+6\s+7\s+0\s+0\s+no$`,
		`(?m)^` + st.a + `\s+1\s+2\s+4\s+3\s+6\s+0\s+0\s+no$`,
		`(?m)^` + gone + ` \(not configured\)\s+0\s+1\s+0\s+2\s+0\s+-\s+-\s+-$`,
	} {
		if !regexp.MustCompile(row).MatchString(out) {
			t.Errorf("status output has no line matching %s:\n%s", row, out)
		}
	}
}

// TestEnqueueTextTrimmedAudit3: enqueue queues the text as the API does,
// without the white space around it, and a text too long is counted
// without that white space too.
func TestEnqueueTextTrimmedAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 17}, "10/s")
	page := e.sb.Pages()[0].ID
	target := page + "_3_4"
	out, errOut, code := runInProcess(t, nil, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", target, "--text", "  Hello there \n")
	if code != exitOK {
		t.Fatalf("enqueue: exit %d %q %q", code, out, errOut)
	}
	insp := asynq.NewInspectorFromRedisClient(e.db.Client)
	ti, err := insp.GetTaskInfo(tasks.QueueReplies, "comment:"+target)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tasks.DecodeReply(ti.Payload); err != nil || r.Text != "Hello there" {
		t.Errorf("queued text %q (%v), want %q", r.Text, err, "Hello there")
	}
	_, errOut, code = runInProcess(t, nil, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", page+"_3_5",
		"--text", "   "+strings.Repeat("a", 2001)+"   ")
	if want := "pagereply enqueue: --text: the reply text is longer than 2000 characters (2001)\n"; code != exitUsage || errOut != want {
		t.Errorf("enqueue of a long text: exit %d %q, want 2 %q", code, errOut, want)
	}
}

// TestEnqueueTargetsAudit3: an id Graph cannot have is bad usage (exit 2)
// naming the flag that gave it; a conversation Graph does not know is bad
// usage too; a conversation it knows queues a reply to the person's latest
// message, with the person and the conversation, and says so (exit 0).
func TestEnqueueTargetsAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Conversations: 1, Seed: 19}, "10/s")
	page := e.sb.Pages()[0].ID
	enqueue := func(args ...string) (string, string, int) {
		t.Helper()
		return runInProcess(t, nil, append([]string{"enqueue", "-c", e.cfgPath, "--page", page, "--text", "hi"}, args...)...)
	}
	for _, flag := range []string{"--comment", "--post", "--conversation"} {
		out, errOut, code := enqueue(flag, "1 2")
		if code != exitUsage || out != "" || errOut != "pagereply enqueue: "+flag+": \"1 2\" is not a valid Graph id: "+tasks.IDChars+"\n" {
			t.Errorf("enqueue %s \"1 2\": exit %d, %q %q", flag, code, out, errOut)
		}
	}
	out, errOut, code := enqueue("--conversation", "t_404404404")
	if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "pagereply enqueue: --conversation t_404404404: ") {
		t.Errorf("enqueue of a conversation Graph does not know: exit %d, %q %q", code, out, errOut)
	}

	conv := e.sb.Conversations(page)[0]
	var last sandbox.Message
	for _, m := range conv.Messages {
		if !m.FromPage && m.CreatedTime.After(last.CreatedTime) {
			last = m
		}
	}
	out, errOut, code = enqueue("--conversation", conv.ID)
	if code != exitOK || out != "queued message:"+last.ID+" (pending) for page "+page+"\n" {
		t.Fatalf("enqueue --conversation %s: exit %d, %q %q", conv.ID, code, out, errOut)
	}
	insp := asynq.NewInspectorFromRedisClient(e.db.Client)
	ti, err := insp.GetTaskInfo(tasks.QueueReplies, "message:"+last.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tasks.DecodeReply(ti.Payload); err != nil || r.PSID != conv.With.ID || r.ConversationID != conv.ID || r.Created == 0 {
		t.Errorf("queued reply %+v (%v), want one to %s in %s", r, err, conv.With.ID, conv.ID)
	}
}

// TestResumeSaysTimeLeftAudit3: resume says how long the lifted pause had
// left in whole seconds, and names the pause by its kind before the reason.
func TestResumeSaysTimeLeftAudit3(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 29}, "10/s")
	page := e.sb.Pages()[0].ID
	l := tasks.NewLedger(e.db.Client, tasks.LedgerOptions{})
	const why = "graph_down: Graph answered 503 for 5 minutes"
	if set, err := l.Pause(context.Background(), page, time.Hour, why); err != nil || !set {
		t.Fatalf("pause: %v %v", set, err)
	}
	out, errOut, code := runInProcess(t, nil, "resume", "-c", e.cfgPath, "--page", page)
	want := regexp.MustCompile(`^page ` + page + `: lifted its graph_down pause, (59m5\d|1h0m0)s before it would have ended: ` + regexp.QuoteMeta(why) + "\n$")
	if code != exitOK || !want.MatchString(out) {
		t.Fatalf("resume: exit %d, stdout %q, want %v\n%s", code, out, want, errOut)
	}
}

// TestStatusReadFailuresExitOneAudit3: when the reply tasks cannot be read
// to count them per Page, or the replies queue's totals cannot be read,
// status exits 1 saying which, not 0 with a table that counts nothing. A
// task is listed as active, then as pending, with a string in place of its
// task: asynq's queue totals read the first, its task list does not; its
// totals do not read the second.
func TestStatusReadFailuresExitOneAudit3(t *testing.T) {
	ctx := context.Background()
	st := newStatusEnv(t, 53)
	rdb := st.e.db.Client
	prefix := "asynq:{" + tasks.QueueReplies + "}:"
	if err := rdb.SAdd(ctx, "asynq:queues", tasks.QueueReplies).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Set(ctx, prefix+"t:garbled", "not a task", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.LPush(ctx, prefix+"active", "garbled").Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "status", "-c", st.e.cfgPath)
	if code != exitError || !strings.Contains(errOut, "pagereply status: count active replies: ") || strings.Contains(out, "PAGE") {
		t.Fatalf("status with an active task it cannot read: exit %d\n%s\n%s", code, out, errOut)
	}
	if err := rdb.Del(ctx, prefix+"active").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.LPush(ctx, prefix+"pending", "garbled").Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "status", "-c", st.e.cfgPath)
	if code != exitError || !strings.Contains(errOut, "pagereply status: queue replies: ") || strings.Contains(out, "PAGE") {
		t.Fatalf("status with the replies queue's totals unreadable: exit %d\n%s\n%s", code, out, errOut)
	}
}
