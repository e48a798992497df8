package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redistest"
)

// runInProcess runs a command of this package in the test process, with
// getenv answering from env.
func runInProcess(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &cmdEnv{stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code = runMain(context.Background(), e, args)
	return out.String(), errOut.String(), code
}

// TestCheckSummaryAudit: check's summary says what the config holds: webhook
// on only with a verify_token, the number of rules (one rule, two rules) and
// whether a Page has a default_text; and check reads PAGEREPLY_CONFIG without
// -c, as every other command does.
func TestCheckSummaryAudit(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT_CHECK_TOKEN", "EAABauditpagetoken")
	t.Setenv("AUDIT_CHECK_SECRET", "audit-app-secret")
	t.Setenv("AUDIT_CHECK_VERIFY", "audit-verify-token")
	t.Setenv("AUDIT_CHECK_API", "0123456789abcdef0123456789abcdef")
	redisAddr := freeAddr(t)
	pages := "pages:\n" +
		"  - id: \"11\"\n    access_token: ${AUDIT_CHECK_TOKEN}\n    schedule: \"@every 5m\"\n    default_text: \"hi\"\n    rules:\n      - {match: \"price\", text: \"See the shop\"}\n" +
		"  - id: \"22\"\n    access_token: ${AUDIT_CHECK_TOKEN}\n    schedule: \"@every 2m\"\n    rules:\n      - {match: \"a\", text: \"A\"}\n      - {match: \"b\", text: \"B\"}\n"
	api := "api:\n  tokens: [\"${AUDIT_CHECK_API}\"]\n"
	withHook := filepath.Join(dir, "hook.yaml")
	noHook := filepath.Join(dir, "nohook.yaml")
	for path, yaml := range map[string]string{
		withHook: "redis:\n  url: redis://" + redisAddr + "/3\ngraph:\n  app_secret: ${AUDIT_CHECK_SECRET}\nwebhook:\n  verify_token: ${AUDIT_CHECK_VERIFY}\n" + pages + api,
		noHook:   "redis:\n  url: redis://" + redisAddr + "/3\n" + pages + api,
	} {
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path, webhook string
	}{{withHook, "webhook on"}, {noHook, "webhook off"}} {
		// Through PAGEREPLY_CONFIG, without -c.
		out, errOut, code := runInProcess(t, map[string]string{"PAGEREPLY_CONFIG": tc.path}, "check")
		if code != exitOK {
			t.Fatalf("check of %s through PAGEREPLY_CONFIG: exit %d\n%s%s", tc.path, code, out, errOut)
		}
		head := regexp.MustCompile(`^` + regexp.QuoteMeta(tc.path+": valid; 2 Pages, Redis redis://"+redisAddr+"/3, Graph ") + `\S+ \(v[0-9.]+\), ` +
			`worker concurrency \d+, max_retry \d+, ` + tc.webhook + `, API tokens 1\n`)
		if !head.MatchString(out) {
			t.Errorf("check of %s: first line is not %v:\n%s", tc.path, head, out)
		}
		for _, want := range []string{
			"page 11: rate 10/s burst 1, person_gap off, schedule \"@every 5m\", replies to comments, 1 rule, a default_text\n",
			"page 22: rate 10/s burst 1, person_gap off, schedule \"@every 2m\", replies to comments, 2 rules, no default_text\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("check of %s: no %q in\n%s", tc.path, want, out)
			}
		}
		if strings.Contains(out, "warning: page") {
			t.Errorf("check of %s warns of a Page with rules:\n%s", tc.path, out)
		}
		for _, s := range []string{"EAABauditpagetoken", "audit-app-secret", "audit-verify-token", "0123456789abcdef0123456789abcdef"} {
			if strings.Contains(out+errOut, s) {
				t.Fatalf("check printed a secret (%s):\n%s%s", s, out, errOut)
			}
		}
	}
}

// TestHealthcheckTimeoutAudit: --timeout bounds a probe of a server that
// never answers: the probe fails (exit 1) instead of hanging.
func TestHealthcheckTimeoutAudit(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	type result struct {
		out, errOut string
		code        int
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut bytes.Buffer
		env := &cmdEnv{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }}
		code := runMain(context.Background(), env, []string{"healthcheck", "--url", srv.URL + "/healthz", "--timeout", "200ms"})
		done <- result{out.String(), errOut.String(), code}
	}()
	select {
	case r := <-done:
		if r.code != exitError || !strings.Contains(r.errOut, "GET "+srv.URL+"/healthz") || r.out != "" {
			t.Fatalf("probe of a server that never answers: exit %d, stdout %q, stderr %q", r.code, r.out, r.errOut)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("healthcheck --timeout 200ms still waiting on a server that never answers after 30s")
	}
}

// TestHealthcheckIgnoresProxyAudit: the probe talks to its own process and
// takes no proxy from the environment: an HTTP_PROXY that answers 200 for
// everything does not make a URL nothing answers healthy.
func TestHealthcheckIgnoresProxyAudit(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxied.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(proxy.Close)
	// 192.0.2.1 (TEST-NET-1) is not a loopback address, which Go never
	// proxies, and nothing answers there.
	cmd := exec.Command(binPath, "healthcheck", "--url", "http://192.0.2.1:9/healthz", "--timeout", "1s")
	cmd.Env = append(os.Environ(), "PAGEREPLY_CONFIG=", "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitError {
		t.Fatalf("healthcheck with a proxy in the environment: %v\nstdout %q\nstderr %q", err, out.String(), errOut.String())
	}
	if n := proxied.Load(); n != 0 {
		t.Fatalf("the probe went through HTTP_PROXY (%d requests)", n)
	}
}

// sandboxGet GETs a Graph path of a running sandbox with a bearer token (and
// appsecret_proof when secret is set).
func sandboxGet(t *testing.T, base, path, token, secret string) (int, []byte) {
	t.Helper()
	u := base + path
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(token))
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + "appsecret_proof=" + hex.EncodeToString(m.Sum(nil))
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// startSandboxAudit runs the sandbox command and returns its base URL and its
// Pages' tokens by ID, as a script reads them from stdout.
func startSandboxAudit(t *testing.T, args ...string) (base string, pages [][2]string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr, done := runInBackground(ctx, runSandbox, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	base = waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]
	line := regexp.MustCompile(`^page ([0-9]+) token (EAAB[A-Za-z0-9]+)$`)
	for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			cancel()
			t.Fatalf("sandbox stdout line %q", l)
		}
		pages = append(pages, [2]string{m[1], m[2]})
	}
	stopped := false
	stop = func() (int, string) {
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code, stderr.String()
		case <-time.After(15 * time.Second):
			t.Fatal("sandbox did not stop on cancel")
		}
		return -1, ""
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return base, pages, stop
}

// TestSandboxCommandFlagsAudit: the sandbox serves what its flags ask for:
// --seed picks the Pages and tokens, --app-secret requires appsecret_proof,
// --conversations seeds Messenger conversations, --rate throttles sends (and
// the stats and the closing line count them), --fail 1 fails every request;
// --block 0 and negative counts or durations are refused.
func TestSandboxCommandFlagsAudit(t *testing.T) {
	t.Run("seed", func(t *testing.T) {
		_, a, stopA := startSandboxAudit(t, "--pages", "2", "--seed", "1")
		stopA()
		_, b, stopB := startSandboxAudit(t, "--pages", "2", "--seed", "2")
		stopB()
		if len(a) != 2 || len(b) != 2 || a[0][1] == b[0][1] {
			t.Fatalf("--seed 1 and --seed 2 printed the same tokens: %v and %v", a, b)
		}
	})

	t.Run("app secret, conversations, rate", func(t *testing.T) {
		const secret = "audit-sandbox-secret"
		base, pages, stop := startSandboxAudit(t, "--pages", "1", "--posts", "2", "--comments", "3", "--conversations", "2",
			"--app-secret", secret, "--rate", "0.001")
		if len(pages) != 1 {
			t.Fatalf("pages %v", pages)
		}
		id, token := pages[0][0], pages[0][1]
		if code, body := sandboxGet(t, base, "/v25.0/"+id+"/feed", token, ""); code != http.StatusBadRequest {
			t.Fatalf("feed without appsecret_proof under --app-secret: %d %s", code, body)
		}
		code, body := sandboxGet(t, base, "/v25.0/"+id+"/feed?fields=id,comments{id}", token, secret)
		var feed struct {
			Data []struct {
				Comments struct {
					Data []struct{ ID string } `json:"data"`
				} `json:"comments"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &feed); code != 200 || err != nil {
			t.Fatalf("feed with appsecret_proof: %d %v %s", code, err, body)
		}
		var comments []string
		for _, p := range feed.Data {
			for _, c := range p.Comments.Data {
				comments = append(comments, c.ID)
			}
		}
		if len(comments) < 2 {
			t.Fatalf("fewer than two comments in %s", body)
		}
		code, body = sandboxGet(t, base, "/v25.0/"+id+"/conversations", token, secret)
		var convs struct {
			Data []struct{ ID string } `json:"data"`
		}
		if err := json.Unmarshal(body, &convs); code != 200 || err != nil || len(convs.Data) != 2 {
			t.Fatalf("conversations under --conversations 2: %d %v %s", code, err, body)
		}

		// --rate 0.001: one send per 1000s; the second and third are refused (80006).
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(token))
		proof := hex.EncodeToString(m.Sum(nil))
		var codes []int
		for _, c := range comments[:3] {
			form := url.Values{"recipient": {`{"comment_id":"` + c + `"}`}, "message": {`{"text":"hi"}`}, "appsecret_proof": {proof}}
			req, _ := http.NewRequest(http.MethodPost, base+"/v25.0/"+id+"/messages", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
			if len(codes) > 1 && !strings.Contains(string(b), "80006") {
				t.Fatalf("send %d under --rate 0.001: %d %s", len(codes), resp.StatusCode, b)
			}
		}
		if codes[0] != 200 || codes[1] == 200 || codes[2] == 200 {
			t.Fatalf("three sends under --rate 0.001 answered %v", codes)
		}
		resp, err := http.Get(base + "/_sandbox/stats")
		if err != nil {
			t.Fatal(err)
		}
		var st sandboxStatsBody
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil || st.Sends != 1 || st.Throttled != 2 || st.Pages[id].Throttled != 2 || st.Pages[id].Sends != 1 {
			t.Fatalf("stats after one send and two throttled: %v %+v", err, st)
		}
		exit, errOut := stop()
		if exit != exitOK || !strings.Contains(errOut, "sandbox stopped after 1 sends; 0 comments or posts got more than one private reply; 0 sends refused as already replied; 2 throttled\n") {
			t.Fatalf("exit %d, stderr %q", exit, errOut)
		}
	})

	t.Run("fail 1", func(t *testing.T) {
		base, pages, stop := startSandboxAudit(t, "--pages", "1", "--fail", "1")
		for range 3 {
			if code, body := sandboxGet(t, base, "/v25.0/"+pages[0][0]+"/feed", pages[0][1], ""); code != http.StatusInternalServerError {
				t.Fatalf("feed under --fail 1: %d %s", code, body)
			}
		}
		if exit, errOut := stop(); exit != exitOK {
			t.Fatalf("exit %d, stderr %q", exit, errOut)
		}
	})

	t.Run("bad values", func(t *testing.T) {
		for _, args := range [][]string{{"--block", "0s"}, {"--block", "-1s"}, {"--posts", "-1"}, {"--conversations", "-1"},
			{"--latency", "-1ms"}, {"--jitter", "-1ms"}, {"--drop", "1.01"}} {
			// Already done: a sandbox that took the flag exits at once, 0.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			var stdout, stderr bytes.Buffer
			env := &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			if code := runSandbox(ctx, env, append([]string{"--addr", "127.0.0.1:0"}, args...)); code != exitUsage ||
				!strings.Contains(stderr.String(), args[0]) || stdout.String() != "" {
				t.Fatalf("sandbox %v: exit %d, stdout %q, stderr %q; want %d naming %s", args, code, stdout.String(), stderr.String(), exitUsage, args[0])
			}
		}
	})
}

// TestBenchUsageAudit: bench's flags that would measure nothing (or crash)
// are bad usage, exit 2, before any Redis work; bench alone is bad usage too,
// and bench -h is the usage asked for.
func TestBenchUsageAudit(t *testing.T) {
	db := redistest.New(t)
	for _, args := range [][]string{
		{"--runs", "0"}, {"-n", "0"}, {"--concurrency", ","}, {"--concurrency", "0"}, {"--concurrency", "10,-5"},
	} {
		out, errOut, code := run(t, append([]string{"bench", "pipeline", "--redis", db.URL()}, args...)...)
		if code != exitUsage || !strings.Contains(errOut, strings.TrimLeft(args[0], "-")) || out != "" {
			t.Errorf("bench pipeline %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out, errOut)
		}
	}
	if out, errOut, code := run(t, "bench"); code != exitUsage || out != "" || !strings.Contains(errOut, "Usage: pagereply bench <mode>") {
		t.Errorf("bench alone: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if out, errOut, code := run(t, "bench", "-h"); code != exitOK || errOut != "" || !strings.Contains(out, "Usage: pagereply bench <mode>") {
		t.Errorf("bench -h: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestBenchPipelineClosingLinesLastAudit: with no 50 in --concurrency, the
// three closing lines are those of the last value listed, each figure from its
// own column of that row.
func TestBenchPipelineClosingLinesLastAudit(t *testing.T) {
	db := redistest.New(t)
	out, errOut, code := run(t, "bench", "pipeline", "--redis", db.URL(), "--runs", "1", "-n", "200", "--concurrency", "10,5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tail := strings.Join(lines[len(lines)-3:], "\n")
	var row5 []string
	for _, l := range lines {
		if strings.HasPrefix(l, "5 ") {
			row5 = strings.Fields(l)
		}
	}
	if len(row5) < 6 {
		t.Fatalf("no concurrency-5 row in\n%s", out)
	}
	want := "bare_asynq_per_s: " + row5[3] + "\npipeline_per_s: " + row5[4] + "\nratio: " + row5[5]
	if tail != want {
		t.Fatalf("closing lines:\n%s\nwant those of the last value listed (5):\n%s\nstdout:\n%s", tail, want, out)
	}
}

// TestVersionAudit: version prints "pagereply VERSION", then the Go version
// and platform; VERSION is what -ldflags "-X main.version=..." stamps, as
// deploy/Dockerfile and deploy/README.md build it.
func TestVersionAudit(t *testing.T) {
	out, errOut, code := runInProcess(t, nil, "version")
	goLine := "go " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if code != exitOK || errOut != "" || !strings.HasPrefix(out, "pagereply dev\n"+goLine) {
		t.Fatalf("version: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	bin := filepath.Join(t.TempDir(), "pagereply")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=9.8.7-audit", "-o", bin, ".")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	b, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(b), "pagereply 9.8.7-audit\ngo ") {
		t.Fatalf("version of a stamped build: %v\n%s", err, b)
	}
}
