package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// TestStatusOrphanRowsAndOrderAudit: a reply task whose payload names no
// Page (not one a worker can send) is counted on a "(no page id)" row of its
// own, the queue rows come in name order whichever queues asynq already
// knows (here only replies), and -h gives the default --count-limit.
func TestStatusOrphanRowsAndOrderAudit(t *testing.T) {
	st := newStatusEnv(t, 41)
	if _, err := st.client.Enqueue(asynq.NewTask(tasks.TypeReply, []byte(`{"text":"hi"}`)), asynq.Queue(tasks.QueueReplies)); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "status", "-c", st.e.cfgPath)
	if code != exitOK {
		t.Fatalf("status: exit %d\n%s\n%s", code, out, errOut)
	}
	if row := `(?m)^\(no page id\)\s+1\s+0\s+0\s+0\s+0\s+-\s+-\s+-$`; !regexp.MustCompile(row).MatchString(out) {
		t.Errorf("status output has no line matching %s:\n%s", row, out)
	}
	polls := regexp.MustCompile(`(?m)^polls\s`).FindStringIndex(out)
	replies := regexp.MustCompile(`(?m)^replies\s`).FindStringIndex(out)
	if polls == nil || replies == nil || polls[0] > replies[0] {
		t.Errorf("queue rows not in name order (polls, then replies):\n%s", out)
	}
	if out, _, code := run(t, "status", "-h"); code != exitOK || !strings.Contains(out, "(default 100000)") {
		t.Errorf("status -h: exit %d, no default --count-limit of 100000:\n%s", code, out)
	}
}

// TestStatusLedgerUnreadableAudit: when a Page's sends or its pause cannot be
// read (a key of another type in their place), status exits 1 naming the
// Page, instead of a table that shows 0 sent or "no" pause.
func TestStatusLedgerUnreadableAudit(t *testing.T) {
	ctx := context.Background()
	st := newStatusEnv(t, 43)
	rdb := st.e.db.Client
	stats := st.ledger.PageKey(st.a, "stats")
	if err := rdb.Set(ctx, stats, "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run(t, "status", "-c", st.e.cfgPath)
	if code != exitError || !strings.Contains(errOut, "pagereply status: page "+st.a+" stats: ") {
		t.Fatalf("status with page %s's stats unreadable: exit %d\n%s\n%s", st.a, code, out, errOut)
	}
	if err := rdb.Del(ctx, stats).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.HSet(ctx, st.ledger.PageKey(st.b, "pause"), "f", "v").Err(); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = run(t, "status", "-c", st.e.cfgPath)
	if code != exitError || !strings.Contains(errOut, "pause of page "+st.b) {
		t.Fatalf("status with page %s's pause unreadable: exit %d\n%s\n%s", st.b, code, out, errOut)
	}
}

// TestResumeItemsOnlyAndLogAudit: resume of a Page whose pause held webhook
// items and no replies says how many items it put back (0 replies does not
// hide the line), and logs the lift with the Page and the pause's reason, for
// the operators who read the logs and not the terminal.
func TestResumeItemsOnlyAndLogAudit(t *testing.T) {
	w := newWakeRig(t, "20/s", 0)
	page := w.page.ID
	const why = "graph_down: Graph answered 503 for 5 minutes"
	w.pauseHour(t, why)
	p := w.worker(t)
	item := w.enqueueItem(t, "8200")
	insp := asynq.NewInspectorFromRedisClient(w.e.db.Client)
	eventually(t, 20*time.Second, "the webhook item put back for the pause", func() bool {
		q, err := insp.GetQueueInfo(tasks.QueuePolls)
		return err == nil && q.Retry == 1
	})
	stop(t, p)

	out, errOut, code := run(t, "resume", "-c", w.e.cfgPath, "--page", page)
	if code != exitOK || !strings.Contains(out, "page "+page+": 0 replies and 1 webhook items put back for the pause run now\n") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	var logged bool
	for _, line := range strings.Split(errOut, "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == "page pause lifted by pagereply resume" && rec["page_id"] == page && rec["reason"] == why {
			logged = true
		}
	}
	if !logged {
		t.Errorf("resume logged no lift of page %s's pause (%q):\n%s", page, why, errOut)
	}
	if ti, err := insp.GetTaskInfo(tasks.QueuePolls, item.TaskID()); err != nil || ti.State != asynq.TaskStatePending {
		t.Fatalf("webhook item after resume: %v (%v), want pending", ti, err)
	}
}

// TestHealthServerShapesAudit: the health server answers in the API's
// shapes: JSON with nosniff, errors as {"error":{"message":...}}, and only
// GET on its routes (a POST /healthz is no route, not a 200).
func TestHealthServerShapesAudit(t *testing.T) {
	db := redistest.New(t)
	h := startHealth(t, db.Client, metrics.New())
	base := "http://" + h.Addr()
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: %d, headers %v", path, resp.StatusCode, resp.Header)
		}
	}
	resp, err := http.Post(base+"/healthz", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" ||
		body.Error.Message != "no such route: POST /healthz" {
		t.Errorf("POST /healthz: %d %+v, want 404 {\"error\":{\"message\":\"no such route: POST /healthz\"}}", resp.StatusCode, body)
	}
}

// TestCheckHealthAddrAudit: --health-addr takes an empty host (every
// interface), as api.addr does, and names itself when it is refused.
func TestCheckHealthAddrAudit(t *testing.T) {
	for _, addr := range []string{"", ":9090", "127.0.0.1:9090", "[::1]:9090"} {
		if err := checkHealthAddr(addr); err != nil {
			t.Errorf("checkHealthAddr(%q): %v", addr, err)
		}
	}
	for _, addr := range []string{"9090", "127.0.0.1:99999"} {
		if err := checkHealthAddr(addr); err == nil || !strings.HasPrefix(err.Error(), "--health-addr ") {
			t.Errorf("checkHealthAddr(%q): %v, want an error naming --health-addr", addr, err)
		}
	}
}

// TestHealthcheckOutputsAudit: healthcheck says ok on stdout and a failure
// on stderr only; takes https:// URLs (a TLS failure is a failed probe, not a
// bad --url); says a refused connection with the URL once (no "Get \"URL\""
// repeating it); and its default URL is the api role's /healthz on the
// default api.addr, which a HEALTHCHECK without --url probes.
func TestHealthcheckOutputsAudit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ok" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	out, errOut, code := runInProcess(t, nil, "healthcheck", "--url", srv.URL+"/ok")
	if code != exitOK || out != "ok: GET "+srv.URL+"/ok: 200 OK\n" || errOut != "" {
		t.Errorf("healthy probe: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runInProcess(t, nil, "healthcheck", "--url", srv.URL+"/down")
	if code != exitError || out != "" || errOut != "pagereply healthcheck: GET "+srv.URL+"/down: 503 Service Unavailable\n" {
		t.Errorf("unhealthy probe: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	out, errOut, code = runInProcess(t, nil, "healthcheck", "--url", tlsSrv.URL+"/healthz")
	if code != exitError || out != "" || strings.Contains(errOut, "--url") || !strings.HasPrefix(errOut, "pagereply healthcheck: GET "+tlsSrv.URL+"/healthz: ") {
		t.Errorf("https probe: exit %d, stdout %q, stderr %q; want a probe of the https URL", code, out, errOut)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	host := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()
	_, errOut, code = runInProcess(t, nil, "healthcheck", "--url", "http://probe:pw-s3cret@"+host+"/healthz")
	if code != exitError || strings.Count(errOut, "/healthz") != 1 || strings.Contains(errOut, `Get "`) || strings.Contains(errOut, "pw-s3cret") {
		t.Errorf("refused probe: exit %d, stderr %q; want the URL once, without its password", code, errOut)
	}

	if want := "http://" + config.DefaultAPIAddr + "/healthz"; defaultHealthURL != want {
		t.Errorf("healthcheck's default --url %s, want %s (the default api.addr)", defaultHealthURL, want)
	}
}

// TestCheckKindsAndErrorsAudit: check's Page line lists every kind a Page
// replies to and says "0 rules" of a Page without rules; a config that the
// roles refuse is named by its path in the error.
func TestCheckKindsAndErrorsAudit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT_KINDS_TOKEN", "EAABauditkindstoken")
	good := filepath.Join(dir, "kinds.yaml")
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/3\n" +
		"pages:\n  - id: \"77\"\n    access_token: ${AUDIT_KINDS_TOKEN}\n    reply_to: [comments, posts, conversations]\n    default_text: \"hi\"\n"
	if err := os.WriteFile(good, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, nil, "check", "-c", good, "--insecure")
	if code != exitOK || !strings.Contains(out, "replies to comments, posts, conversations, 0 rules, a default_text\n") {
		t.Errorf("check: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runInProcess(t, nil, "check", "-c", good)
	if code != exitUsage || out != "" || !strings.HasPrefix(errOut, "pagereply check: config "+good+": ") || !strings.Contains(errOut, "api.tokens") {
		t.Errorf("check of a config without api.tokens for the api role: exit %d\nstdout %q\nstderr %q", code, out, errOut)
	}
}
