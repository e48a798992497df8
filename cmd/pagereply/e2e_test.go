package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
)

// binPath is the pagereply binary built once by TestMain; the end-to-end tests
// run it as a real process over loopback.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pagereply-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "pagereply")
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		// The parallel tests (t.Parallel) wait on the pagereply processes
		// they start (the sandbox's 2 s sends, a Redis started late, a
		// refused port), not on the CPU: four at a time rather than
		// GOMAXPROCS (two on a 2-core CI machine) keeps the package's run
		// shorter, as in the worker package.
		_ = flag.Set("test.parallel", "4")
	}
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running pagereply process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr *proctest.Buffer
	done           chan struct{}
	code           int
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startCmd(t, binPath, args...)
}

// startCmd starts program (pagereply, or a shell that execs it) as start
// does.
func startCmd(t *testing.T, program string, args ...string) *proc {
	t.Helper()
	p := &proc{stdout: &proctest.Buffer{}, stderr: &proctest.Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(program, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.Env = append(os.Environ(), "PAGEREPLY_CONFIG=")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
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
	})
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		t.Fatalf("process %v still running after %s\nstdout:\n%s\nstderr:\n%s", p.cmd.Args[1:], d, p.stdout, p.stderr)
	}
	return -1
}

// run runs pagereply to completion.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := start(t, args...)
	code = p.wait(t, 60*time.Second)
	return p.stdout.String(), p.stderr.String(), code
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

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", d, what)
}

const (
	e2eAPIToken    = "e2e-api-token-7d1c0f3b9a"
	e2eAppSecret   = "e2e-app-secret-55aa11"
	e2eVerifyToken = "e2e-verify-token-c0ffee"
)

// e2e is a sandbox in the test process, a Redis database and a config file.
type e2e struct {
	sb      *sandbox.Sandbox
	graph   string
	db      *redistest.DB
	cfgPath string
	cfg     *config.Config
	api     string
	secrets []string
}

func newE2E(t *testing.T, opts sandbox.Options, rate string) *e2e {
	t.Helper()
	return newE2EPages(t, opts, func(_ int, p sandbox.Page) string {
		return fmt.Sprintf(`  - id: "%s"
    access_token: "%s"
    schedule: "@every 1m"
    rate: %s
    burst: 2
    reply_to: [comments, posts, conversations]
    rules:
      - match: "(?i)price|cost"
        text: "Hi {{.FirstName}}, prices are on our site."
    default_text: "Thanks, {{.FirstName}}!"
`, p.ID, p.Token, rate)
	})
}

// eligible is the number of seeded items the poll must answer.
func (e *e2e) eligible() int {
	n := 0
	for _, c := range demoExpect(e.cfg, e.sb, time.Now()) {
		n += c.eligible
	}
	return n
}

func (e *e2e) waitHealthy(t *testing.T, p *proc) {
	t.Helper()
	eventually(t, 15*time.Second, "healthz", func() bool {
		select {
		case <-p.done:
			t.Fatalf("exited %d:\n%s", p.code, p.stderr)
		default:
		}
		resp, err := http.Get("http://" + e.api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

type answer struct {
	status int
	body   map[string]any
	raw    string
	header http.Header
}

func (e *e2e) call(t *testing.T, method, path string, body io.Reader, set func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+e.api+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(req)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(b), header: resp.Header}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func TestServeEndToEnd(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 4, Comments: 6, Conversations: 4, VisitorPosts: true, Seed: 3}, "50/s")
	p := start(t, "serve", "-c", e.cfgPath)
	e.waitHealthy(t, p)
	want := e.eligible()
	page := e.sb.Pages()[0]

	// The poll (at start) answers every eligible item, once.
	eventually(t, 30*time.Second, fmt.Sprintf("%d sends", want), func() bool { return len(e.sb.Sends()) >= want })

	// A comment the poll did not answer (the Page's own is never answered by
	// the poll, but the API may target any comment it is asked to).
	var extra string
	for _, c := range e.sb.AllComments(page.ID) {
		if e.sb.SendCount(c.ID) == 0 && c.CanReplyPrivately && !c.FromPage && time.Since(c.CreatedTime) < 6*24*time.Hour {
			extra = c.ID
		}
	}
	if extra == "" {
		extra = e.sb.AddComment(e.sb.Posts(page.ID)[0].ID, sandbox.User{ID: "777000111", Name: "Late Commenter"}, "late", time.Now())
	}
	single := func(target string) string {
		return fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"Hello from the API"}`, page.ID, target)
	}
	cases := []struct {
		name   string
		method string
		path   string
		body   string
		set    func(*http.Request)
		status int
		field  string
	}{
		{"no token", "POST", "/v1/replies", single(extra), nil, 401, ""},
		{"wrong token", "POST", "/v1/replies", single(extra), bearer("wrong-token"), 401, ""},
		{"basic is not bearer", "POST", "/v1/replies", single(extra), func(r *http.Request) { r.SetBasicAuth("x", e2eAPIToken) }, 401, ""},
		{"accepted", "POST", "/v1/replies", single(extra), bearer(e2eAPIToken), 202, ""},
		{"duplicate", "POST", "/v1/replies", single(extra), bearer(e2eAPIToken), 409, "comment_id"},
		{"unknown page", "POST", "/v1/replies", `{"page_id":"42","comment_id":"1_2","text":"x"}`, bearer(e2eAPIToken), 400, "page_id"},
		{"no text", "POST", "/v1/replies", fmt.Sprintf(`{"page_id":%q,"post_id":"1_2"}`, page.ID), bearer(e2eAPIToken), 400, "text"},
		{"malformed", "POST", "/v1/replies", `{"page_id":"1",`, bearer(e2eAPIToken), 400, ""},
		{"not json", "POST", "/v1/replies", `page_id=1`, bearer(e2eAPIToken), 400, ""},
		{"oversized", "POST", "/v1/replies", `{"text":"` + strings.Repeat("x", 5<<20) + `"}`, bearer(e2eAPIToken), 413, ""},
		{"get unknown", "GET", "/v1/replies/comment:1_999", "", bearer(e2eAPIToken), 404, "id"},
		{"get bad id", "GET", "/v1/replies/bogus", "", bearer(e2eAPIToken), 400, "id"},
		{"get no token", "GET", "/v1/replies/comment:1_999", "", nil, 401, ""},
		{"healthz", "GET", "/healthz", "", nil, 200, ""},
		{"readyz", "GET", "/readyz", "", nil, 200, ""},
		{"webhook handshake", "GET", "/webhook?hub.mode=subscribe&hub.verify_token=" + e2eVerifyToken + "&hub.challenge=abc", "", nil, 200, ""},
		{"webhook wrong token", "GET", "/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=abc", "", nil, 403, ""},
		{"webhook unsigned", "POST", "/webhook", `{"object":"page","entry":[]}`, nil, 401, ""},
		{"monitor no auth", "GET", "/monitor/", "", nil, 401, ""},
		{"monitor basic", "GET", "/monitor/", "", func(r *http.Request) { r.SetBasicAuth("admin", e2eAPIToken) }, 200, ""},
		{"monitor bearer api", "GET", "/monitor/api/queues", "", bearer(e2eAPIToken), 200, ""},
		{"unknown route", "GET", "/nope", "", nil, 404, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			a := e.call(t, tc.method, tc.path, body, tc.set)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %.300s", a.status, tc.status, a.raw)
			}
			if a.status >= 400 && strings.HasPrefix(tc.path, "/v1/") {
				if _, ok := a.body["error"].(map[string]any); !ok {
					t.Fatalf("no error object: %.300s", a.raw)
				}
			}
			if tc.field != "" {
				if f := a.body["error"].(map[string]any)["field"]; f != tc.field {
					t.Fatalf("field %v, want %s: %s", f, tc.field, a.raw)
				}
			}
		})
	}

	// The API's reply is sent and its state says so, with Graph's message id.
	eventually(t, 10*time.Second, "the API's reply sent", func() bool {
		a := e.call(t, "GET", "/v1/replies/comment:"+extra, nil, bearer(e2eAPIToken))
		return a.status == 200 && a.body["state"] == "sent" && a.body["message_id"] != nil
	})
	if n := e.sb.SendCount(extra); n != 1 {
		t.Fatalf("%d sends to %s", n, extra)
	}

	// A batch: one new, one duplicate, one bad.
	var fresh []string
	for _, c := range e.sb.AllComments(page.ID) {
		if e.sb.SendCount(c.ID) == 0 && len(fresh) < 1 && c.CanReplyPrivately && !c.FromPage && time.Since(c.CreatedTime) < 6*24*time.Hour {
			fresh = append(fresh, c.ID)
		}
	}
	if len(fresh) == 0 {
		fresh = append(fresh, e.sb.AddComment(e.sb.Posts(page.ID)[0].ID, sandbox.User{ID: "777000112", Name: "Batch Person"}, "hi", time.Now()))
	}
	batch := fmt.Sprintf(`{"replies":[{"page_id":%q,"comment_id":%q,"text":"b1"},{"page_id":%q,"comment_id":%q,"text":"b2"},{"page_id":%q,"text":"b3"}]}`,
		page.ID, fresh[0], page.ID, extra, page.ID)
	a := e.call(t, "POST", "/v1/replies", strings.NewReader(batch), bearer(e2eAPIToken))
	if a.status != 207 {
		t.Fatalf("batch: %d %s", a.status, a.raw)
	}
	for i, w := range []float64{202, 409, 400} {
		if got := a.body["results"].([]any)[i].(map[string]any)["status"]; got != w {
			t.Errorf("batch item %d: %v, want %v (%s)", i, got, w, a.raw)
		}
	}

	// A conversation reply answers the person's latest message; a second is 409.
	for _, c := range e.sb.Conversations(page.ID) {
		last := c.Messages[len(c.Messages)-1]
		if last.FromPage || time.Since(last.CreatedTime) > 23*time.Hour || e.sb.SendCount(c.With.ID) > 0 {
			continue
		}
		body := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"About your message"}`, page.ID, c.ID)
		if a := e.call(t, "POST", "/v1/replies", strings.NewReader(body), bearer(e2eAPIToken)); a.status != 202 && a.status != 409 {
			t.Fatalf("conversation: %d %s", a.status, a.raw)
		}
		if a := e.call(t, "POST", "/v1/replies", strings.NewReader(body), bearer(e2eAPIToken)); a.status != 409 {
			t.Fatalf("conversation again: %d %s", a.status, a.raw)
		}
		break
	}

	// A signed webhook delivery is accepted.
	wh := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[{"field":"feed","value":{"item":"comment","verb":"add","comment_id":"%s","post_id":"%s","from":{"id":"777000113","name":"Hook"},"message":"hi","created_time":%d}}]}]}`,
		page.ID, extra, e.sb.Posts(page.ID)[0].ID, time.Now().Unix())
	mac := hmac.New(sha256.New, []byte(e2eAppSecret))
	mac.Write([]byte(wh))
	a = e.call(t, "POST", "/webhook", strings.NewReader(wh), func(r *http.Request) {
		r.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		r.Header.Set("Content-Type", "application/json")
	})
	if a.status != 200 {
		t.Fatalf("webhook: %d %s", a.status, a.raw)
	}

	// Login gives a cookie that opens the monitor and holds no token.
	a = e.call(t, "POST", "/login", strings.NewReader(url.Values{"token": {e2eAPIToken}}.Encode()), func(r *http.Request) {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	})
	if a.status != 303 || !strings.Contains(a.header.Get("Set-Cookie"), "HttpOnly") || !strings.Contains(a.header.Get("Set-Cookie"), "SameSite=Strict") {
		t.Fatalf("login: %d %v", a.status, a.header)
	}
	cookie := strings.SplitN(a.header.Get("Set-Cookie"), ";", 2)[0]
	if a := e.call(t, "GET", "/monitor/", nil, func(r *http.Request) { r.Header.Set("Cookie", cookie) }); a.status != 200 {
		t.Fatalf("monitor with cookie: %d", a.status)
	}

	// Metrics, with asynq's queue gauges.
	a = e.call(t, "GET", "/metrics", nil, nil)
	if a.status != 200 || !strings.Contains(a.raw, `asynq_queue_size{queue="replies"`) || !strings.Contains(a.raw, "pagereply_replies_sent_total") {
		t.Fatalf("metrics: %d %.500s", a.status, a.raw)
	}
	// A series an alert reads exists at 0 before the first event (a counter
	// first seen at 1 never shows an increase).
	if zero := `pagereply_page_pauses_total{page="` + page.ID + `",reason="policy_block"} 0`; !strings.Contains(a.raw, zero) {
		t.Errorf("metrics: no %s", zero)
	}
	metricsText := a.raw

	// The CLI against the same Redis.
	out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--comment", extra, "--text", "again")
	if code != exitError || !strings.Contains(errOut, "already has a reply") {
		t.Fatalf("enqueue duplicate: %d %q %q", code, out, errOut)
	}
	late := e.sb.AddComment(e.sb.Posts(page.ID)[0].ID, sandbox.User{ID: "777000114", Name: "Cli Person"}, "hello", time.Now())
	out, errOut, code = run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--comment", late, "--text", "from the CLI")
	if code != exitOK || !strings.Contains(out, "queued comment:"+late) {
		t.Fatalf("enqueue: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", "42", "--comment", late, "--text", "x"); code != exitUsage || !strings.Contains(errOut, "--page") {
		t.Fatalf("enqueue unknown page: %d %q", code, errOut)
	}
	eventually(t, 10*time.Second, "the CLI's reply", func() bool { return e.sb.SendCount(late) == 1 })
	out, errOut, code = run(t, "status", "-c", e.cfgPath)
	if code != exitOK || !regexp.MustCompile(`(?m)^replies\s+\d+`).MatchString(out) || !strings.Contains(out, page.ID) {
		t.Fatalf("status: %d\n%s\n%s", code, out, errOut)
	}

	// SIGTERM: a clean exit.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("serve exited %d after SIGTERM:\n%s", code, p.stderr)
	}
	if d, r := e.sb.Duplicates(), e.sb.AlreadyRepliedCount(); d != 0 || r != 0 {
		t.Fatalf("%d duplicate sends, %d sends refused as already replied (10900)", d, r)
	}
	if n := e.sb.TokensInURL(); n != 0 {
		t.Fatalf("%d Graph calls with the token in the URL", n)
	}

	// No secret anywhere: logs, outputs, metrics, Redis keys and values (task payloads included).
	checkNoSecrets(t, e.secrets, map[string]string{"serve stderr": p.stderr.String(), "serve stdout": p.stdout.String(),
		"metrics": metricsText, "status": out})
	checkRedisNoSecrets(t, e.db.Client, e.secrets)
	if !strings.Contains(p.stderr.String(), `"msg":"http request"`) {
		t.Fatalf("no request log lines:\n%.2000s", p.stderr)
	}
}

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

// checkRedisNoSecrets reads every key of the test database, of every type.
func checkRedisNoSecrets(t *testing.T, rdb *redis.Client, secrets []string) {
	t.Helper()
	ctx := context.Background()
	all, n, err := redistest.Dump(ctx, rdb)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no keys in the test database")
	}
	checkNoSecrets(t, secrets, map[string]string{fmt.Sprintf("Redis (%d keys)", n): all})
}

// TestSIGTERMLosesNothing stops a worker mid-run with SIGTERM and starts
// another: every eligible item gets exactly one reply.
func TestSIGTERMLosesNothing(t *testing.T) {
	t.Parallel() // mostly waits on the processes
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 10, Comments: 20, Seed: 11,
		Faults: sandbox.Faults{Latency: 20 * time.Millisecond}}, "25/s")
	want := e.eligible()
	if want < 60 {
		t.Fatalf("only %d eligible items seeded", want)
	}
	p := start(t, "serve", "-c", e.cfgPath, "--roles", "scheduler,worker")
	eventually(t, 30*time.Second, "a third of the sends", func() bool { return len(e.sb.Sends()) >= want/3 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.stderr)
	}
	before := len(e.sb.Sends())
	if before >= want {
		t.Fatalf("all %d sent before the stop took effect: make the run longer", want)
	}
	p2 := start(t, "worker", "-c", e.cfgPath)
	eventually(t, 60*time.Second, fmt.Sprintf("all %d sends (had %d at the stop)", want, before), func() bool { return len(e.sb.Sends()) >= want })
	time.Sleep(500 * time.Millisecond)
	if n := len(e.sb.Sends()); n != want || e.sb.Duplicates() != 0 || e.sb.AlreadyRepliedCount() != 0 {
		t.Fatalf("%d sends, %d duplicates, %d refused as already replied; want %d, 0, 0", n, e.sb.Duplicates(), e.sb.AlreadyRepliedCount(), want)
	}
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("worker exit %d:\n%s", code, p2.stderr)
	}
	checkNoSecrets(t, e.secrets, map[string]string{"first": p.stderr.String(), "second": p2.stderr.String()})
	checkRedisNoSecrets(t, e.db.Client, e.secrets)
}

func TestDemoOnce(t *testing.T) {
	db := redistest.New(t)
	out, errOut, code := run(t, "demo", "--once", "--addr", "127.0.0.1:0", "--redis", db.URL(), "--pages", "2", "--posts", "4", "--comments", "6", "--conversations", "3", "--seed", "4")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out, errOut)
	}
	m := regexp.MustCompile(`(\d+) comments, posts and messages are eligible`).FindStringSubmatch(out)
	if m == nil || m[1] == "0" {
		t.Fatalf("no eligible count:\n%s", out)
	}
	if !strings.Contains(out, "sent "+m[1]+"/"+m[1]) || !strings.Contains(out, "SKIPPED TOO_OLD") {
		t.Fatalf("no final progress line or summary:\n%s", out)
	}
	// The demo's Page tokens: the sandbox is seeded the same way.
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 4, Comments: 6, Conversations: 3, VisitorPosts: true, Seed: 4})
	var secrets []string
	for _, p := range sb.Pages() {
		if !strings.Contains(out, p.ID) { // same Pages, so the same tokens
			t.Fatalf("page %s not in the demo's output: the seeding differs\n%s", p.ID, out)
		}
		secrets = append(secrets, p.Token)
	}
	tok := regexp.MustCompile(`\(token ([0-9a-f]+)\)`).FindStringSubmatch(out)
	if tok == nil {
		t.Fatalf("no API token printed:\n%s", out)
	}
	secrets = append(secrets, tok[1])
	checkNoSecrets(t, secrets, map[string]string{"demo stderr": errOut})
	checkRedisNoSecrets(t, db.Client, secrets)
}

func TestUsage(t *testing.T) {
	noTokens := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(noTokens, []byte("redis: {url: \"redis://127.0.0.1:1/0\"}\npages: [{id: \"1\", access_token: x}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"serve without config", []string{"serve"}, 2, "-c FILE"},
		{"bad role", []string{"serve", "-c", noTokens, "--roles", "web"}, 2, "--roles"},
		{"api without tokens", []string{"api", "-c", noTokens}, 2, "api.tokens"},
		{"enqueue without target", []string{"enqueue", "-c", noTokens, "--page", "1", "--text", "x"}, 2, "--comment"},
		{"enqueue without text", []string{"enqueue", "-c", noTokens, "--page", "1", "--post", "1_2"}, 2, "pagereply enqueue: --text is required and must not be blank\n"},
		{"enqueue blank text", []string{"enqueue", "-c", noTokens, "--page", "1", "--post", "1_2", "--text", " \t "}, 2, "pagereply enqueue: --text is required and must not be blank\n"},
		{"enqueue invisible text", []string{"enqueue", "-c", noTokens, "--page", "1", "--post", "1_2", "--text", "\u200b"}, 2, "pagereply enqueue: --text is required and must not be blank\n"},
		{"enqueue text with a control character", []string{"enqueue", "-c", noTokens, "--page", "1", "--post", "1_2", "--text", "hi\abye"}, 2,
			"pagereply enqueue: --text: reply text holds a control character (only tab, newline and carriage return are allowed): U+0007 at character 3\n"},
		{"enqueue text not UTF-8", []string{"enqueue", "-c", noTokens, "--page", "1", "--post", "1_2", "--text", "caf\xe9"}, 2,
			"pagereply enqueue: --text: reply text is not valid UTF-8\n"},
		{"enqueue text too long", []string{"enqueue", "-c", noTokens, "--page", "1", "--post", "1_2", "--text", strings.Repeat("é", 2001)}, 2,
			"pagereply enqueue: --text: the reply text is longer than 2000 characters (2001)\n"},
		{"missing file", []string{"status", "-c", "/nonexistent.yaml"}, 2, "nonexistent"},
		{"demo bad pages", []string{"demo", "--pages", "0"}, 2, "--pages"},
		{"demo timeout zero", []string{"demo", "--once", "--timeout", "0s"}, 2, "pagereply demo: --timeout 0s: must be more than 0"},
		{"demo addr not an IP", []string{"demo", "--once", "--addr", "256.1.1.1:8080"}, 2, "--addr \"256.1.1.1:8080\""},
		{"help of an unknown command", []string{"help", "nosuch"}, 2, "pagereply: unknown command \"nosuch\""},
		{"check bad role", []string{"check", "-c", noTokens, "--roles", "bogus"}, 2, "pagereply check: --roles: unknown role \"bogus\""},
		{"worker health-addr not an IP", []string{"worker", "-c", noTokens, "--health-addr", "256.1.1.1:9090"}, 2, "--health-addr \"256.1.1.1:9090\" has \"256.1.1.1\", which is not an IP address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := run(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errOut, tc.code, tc.want)
			}
		})
	}
	for _, c := range []string{"serve", "worker", "scheduler", "api", "enqueue", "status", "demo"} {
		t.Run(c+" -h", func(t *testing.T) {
			// Asked for, the usage goes to stdout (pagereply serve -h | less).
			out, errOut, code := run(t, c, "-h")
			if code != 0 || errOut != "" || !strings.Contains(out, "Example:") || !strings.Contains(out, "(default") && c != "enqueue" {
				t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			// After a flag error, the error and the usage go to stderr.
			out, errOut, code = run(t, c, "--no-such-flag")
			if code != exitUsage || out != "" || !strings.Contains(errOut, "-no-such-flag") || !strings.Contains(errOut, "Example:") {
				t.Fatalf("a flag error: exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
		})
	}
}
