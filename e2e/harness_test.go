package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

// TestMain removes the binary proctest built for the tests.
func TestMain(m *testing.M) { os.Exit(proctest.Main(m)) }

// proc is a running pagereply process.
type proc struct {
	name           string
	cmd            *exec.Cmd
	stdout, stderr *proctest.Buffer
	done           chan struct{}
	code           int
}

// start runs pagereply with args; t's cleanup kills it if it still runs.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, stdout: &proctest.Buffer{}, stderr: &proctest.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(proctest.Binary(t, proctest.BuildOptions{}), args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "PAGEREPLY_CONFIG=")
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s stderr (last 4000 bytes):\n%s", p.name, lastBytes(p.stderr.String(), 4000))
		}
	})
	return p
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// alive fails t if p has exited.
func (p *proc) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("%s exited %d:\n%s", p.name, p.code, lastBytes(p.stderr.String(), 3000))
	default:
	}
}

// stop sends SIGTERM and wants a clean exit within d.
func (p *proc) stop(t *testing.T, d time.Duration) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.done:
		if p.code != 0 {
			t.Errorf("%s exited %d after SIGTERM:\n%s", p.name, p.code, lastBytes(p.stderr.String(), 3000))
		}
	case <-time.After(d):
		t.Fatalf("%s still running %s after SIGTERM", p.name, d)
	}
}

// eventually waits up to d for cond; on a time-out it runs each of explain
// (which logs what held things up) and fails t.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool, explain ...func()) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range explain {
				f()
			}
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const (
	apiToken  = "e2e-redis-api-token-4f1b2c"
	appSecret = "e2e-redis-app-secret-9d8e"
	// pollEvery is every Page's poll schedule.
	pollEvery = 2 * time.Second
	ruleMatch = "(?i)price"
)

var ruleRe = regexp.MustCompile(ruleMatch)

// env is a Graph sandbox over loopback and a config file pointing at it and at
// the Redis set-up of the test.
type env struct {
	sb      *sandbox.Sandbox
	cfgPath string
	api     string
	secrets []string
}

// newEnv seeds a sandbox and writes a config whose redis section is
// redisYAML (indented two spaces, ending in a newline). Every Page replies to
// comments and visitor posts, rule "price" first, else a default text;
// rate and burst are each Page's.
func newEnv(t *testing.T, opts sandbox.Options, redisYAML, rate string, burst int) *env {
	t.Helper()
	opts.AppSecret = appSecret
	sb := sandbox.New(opts)
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	e := &env{sb: sb, api: freeAddr(t)}
	var pages strings.Builder
	for _, p := range sb.Pages() {
		fmt.Fprintf(&pages, `  - id: "%s"
    access_token: "%s"
    schedule: "@every %s"
    rate: %s
    burst: %d
    reply_to: [comments, posts]
    rules:
      - match: %q
        text: "Hi {{.FirstName}}, prices are on our site."
    default_text: "Thanks for your comment, {{.FirstName}}!"
`, p.ID, p.Token, pollEvery, rate, burst, ruleMatch)
		e.secrets = append(e.secrets, p.Token)
	}
	e.secrets = append(e.secrets, apiToken, appSecret)
	yaml := fmt.Sprintf(`redis:
%sgraph:
  base_url: %s
  app_secret: %s
  timeout: 3s
pages:
%sworker:
  concurrency: 10
  max_retry: 5
api:
  addr: %s
  tokens: ["%s"]
log:
  level: debug
  format: json
`, redisYAML, gs.URL, appSecret, pages.String(), e.api, apiToken)
	e.cfgPath = filepath.Join(t.TempDir(), "pagereply.yaml")
	if err := os.WriteFile(e.cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// target is a comment or visitor post that must get exactly one reply.
type target struct{ page, id, text string }

// replyText is the text the config renders for a message from name.
func replyText(name, msg string) string {
	first := ""
	if f := strings.Fields(name); len(f) > 0 {
		first = f[0]
	}
	if ruleRe.MatchString(msg) {
		return "Hi " + first + ", prices are on our site."
	}
	return "Thanks for your comment, " + first + "!"
}

// expect sorts the sandbox's comments and visitor posts, from its data alone,
// into those that must get one reply and those that must get none. Items
// within a minute of the 7-day reply window's edge are left out.
func expect(sb *sandbox.Sandbox, now time.Time) (want []target, none []string) {
	const window = sandbox.ReplyWindow
	classify := func(page, id string, fromPage, canReply bool, created time.Time, from sandbox.User, msg string) {
		age := now.Sub(created)
		switch {
		case age > window-time.Minute && age < window+time.Minute:
		case fromPage || !canReply || age >= window:
			none = append(none, id)
		default:
			want = append(want, target{page: page, id: id, text: replyText(from.Name, msg)})
		}
	}
	for _, pg := range sb.Pages() {
		for _, c := range sb.AllComments(pg.ID) {
			classify(pg.ID, c.ID, c.FromPage, c.CanReplyPrivately, c.CreatedTime, c.From, c.Message)
		}
		for _, p := range sb.Posts(pg.ID) {
			classify(pg.ID, p.ID, p.FromPage, p.CanReplyPrivately, p.CreatedTime, p.From, p.Message)
		}
	}
	return want, none
}

// addComments adds n comments per Page now, spread over its posts, and
// returns them as targets.
func (e *env) addComments(round, n int) []target {
	var out []target
	for i, pg := range e.sb.Pages() {
		posts := e.sb.Posts(pg.ID)
		for j := 0; j < n; j++ {
			name := fmt.Sprintf("Late%d%d%d Visitor", round, i, j)
			msg := []string{"price please", "lovely"}[j%2]
			from := sandbox.User{ID: fmt.Sprintf("77700%02d%02d%02d", round, i, j), Name: name}
			id := e.sb.AddComment(posts[(round*3+j*5+i)%len(posts)].ID, from, msg, time.Now())
			out = append(out, target{page: pg.ID, id: id, text: replyText(name, msg)})
		}
	}
	return out
}

// missing returns how many of want have no send yet.
func (e *env) missing(want []target) int {
	n := 0
	for _, w := range want {
		if e.sb.SendCount(w.id) == 0 {
			n++
		}
	}
	return n
}

// checkSends wants exactly one send per target of want, from its Page with
// its text, none to the ids of none, and nothing else.
func (e *env) checkSends(t *testing.T, want []target, none []string) {
	t.Helper()
	by := map[string][]sandbox.Send{}
	sends := e.sb.Sends()
	for _, s := range sends {
		by[s.Target] = append(by[s.Target], s)
	}
	bad := 0
	for _, w := range want {
		got := by[w.id]
		switch {
		case len(got) != 1:
			t.Errorf("%s on Page %s: %d sends, want 1", w.id, w.page, len(got))
			bad++
		case got[0].Text != w.text || got[0].PageID != w.page:
			t.Errorf("%s: sent %q from Page %s, want %q from Page %s", w.id, got[0].Text, got[0].PageID, w.text, w.page)
			bad++
		}
		if bad > 20 {
			t.Fatal("too many wrong sends")
		}
	}
	for _, id := range none {
		if n := len(by[id]); n != 0 {
			t.Errorf("%s must get no reply, got %d: %q", id, n, by[id][0].Text)
		}
	}
	if len(sends) != len(want) {
		t.Errorf("the sandbox recorded %d sends, want %d", len(sends), len(want))
	}
	if d, r := e.sb.Duplicates(), e.sb.AlreadyRepliedCount(); d != 0 || r != 0 {
		t.Errorf("%d targets got more than one reply, %d sends refused as already replied (10900)", d, r)
	}
	if n := e.sb.TokensInURL(); n != 0 {
		t.Errorf("%d Graph calls with the token in the URL", n)
	}
}

// get calls the api role with the bearer token and decodes a JSON answer
// (asynqmon answers JSON as text/plain) into out.
func (e *env) get(t *testing.T, path string, out any) int {
	t.Helper()
	code, err := e.tryGet(t, path, out)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return code
}

// tryGet is get that returns a connection error instead of failing t.
func (e *env) tryGet(t *testing.T, path string, out any) (int, error) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+e.api+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v in %.300s", path, err, b)
		}
	}
	return resp.StatusCode, nil
}

// waitHealthy waits until the api role answers /readyz (Redis reachable).
func (e *env) waitHealthy(t *testing.T, p *proc) {
	t.Helper()
	eventually(t, 30*time.Second, "readyz", func() bool {
		p.alive(t)
		code, _ := e.tryGet(t, "/readyz", nil)
		return code == 200
	})
}

// monitorQueues reads the monitor's queue list through the api role and
// returns the size of each queue.
func (e *env) monitorQueues(t *testing.T) map[string]int {
	t.Helper()
	var body struct {
		Queues []struct {
			Queue string `json:"queue"`
			Size  int    `json:"size"`
		} `json:"queues"`
	}
	if code := e.get(t, "/monitor/api/queues", &body); code != 200 {
		t.Fatalf("GET /monitor/api/queues: %d", code)
	}
	out := map[string]int{}
	for _, q := range body.Queues {
		out[q.Queue] = q.Size
	}
	return out
}

// checkNoSecrets fails t if any text holds a secret.
func checkNoSecrets(t *testing.T, secrets []string, texts map[string]string) {
	t.Helper()
	for name, s := range texts {
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s holds a secret (%.6s...)", name, sec)
			}
		}
	}
}

// explain logs, for up to 15 of want's targets that have no send yet, where
// the pipeline holds them: the task's state in asynq (next run, retries, last
// error) and the ledger's entry. A timed-out wait calls it before failing, so
// a red run says which step held the replies.
func (e *env) explain(t *testing.T, rdb redis.UniversalClient, want []target) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	if qi, err := insp.GetQueueInfo(tasks.QueueReplies); err != nil {
		t.Logf("explain: queue %s: %v", tasks.QueueReplies, err)
	} else {
		t.Logf("explain: queue %s: pending %d, active %d, scheduled %d, retry %d, archived %d, completed %d",
			tasks.QueueReplies, qi.Pending, qi.Active, qi.Scheduled, qi.Retry, qi.Archived, qi.Completed)
	}
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	defer ledger.Close()
	shown := 0
	for _, w := range want {
		if e.sb.SendCount(w.id) > 0 {
			continue
		}
		if shown++; shown > 15 {
			t.Logf("explain: … and more")
			return
		}
		line := fmt.Sprintf("explain: %s of page %s:", w.id, w.page)
		for _, kind := range []tasks.Kind{tasks.KindComment, tasks.KindPost} {
			tg := tasks.Target{Kind: kind, ID: w.id}
			if ti, err := insp.GetTaskInfo(tasks.QueueReplies, tg.String()); err == nil {
				line += fmt.Sprintf(" task %s %s, next %s, retried %d/%d, last error %q;",
					ti.ID, ti.State, ti.NextProcessAt.Format(time.StampMilli), ti.Retried, ti.MaxRetry, ti.LastErr)
			}
			if en, err := ledger.Get(ctx, w.page, tg); err != nil {
				line += fmt.Sprintf(" ledger %s: %v;", tg, err)
			} else if en.Status != tasks.StatusNone {
				line += fmt.Sprintf(" ledger %s %s at %s %s;", tg, en.Status, en.At.Format(time.StampMilli), en.Reason)
			}
		}
		t.Log(line)
	}
}
