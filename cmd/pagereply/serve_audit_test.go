package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
)

// TestParseRolesAudit: --roles names exactly the roles it runs; a list that
// names none (empty, or commas alone) is refused rather than starting a
// process that runs nothing, and an empty item (a trailing comma) is
// ignored.
func TestParseRolesAudit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want roleSet
		err  bool
	}{
		{"worker", roleSet{worker: true}, false},
		{"scheduler", roleSet{scheduler: true}, false},
		{"api", roleSet{api: true}, false},
		{" worker , api ", roleSet{worker: true, api: true}, false},
		{"worker,,api,", roleSet{worker: true, api: true}, false},
		{"scheduler,worker,api", allRoles(), false},
		{"", roleSet{}, true},
		{" , ,", roleSet{}, true},
		{"worker,web", roleSet{}, true},
	} {
		got, err := parseRoles(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseRoles(%q): error %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if !tc.err && got != tc.want {
			t.Errorf("parseRoles(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestCheckRolesTokens: the api role refuses a bearer token shorter than 16
// characters, and no token at all unless --insecure; the roles that serve
// no API (worker, scheduler) start whatever api.tokens holds, as a worker
// sharing the API's config file must.
func TestCheckRolesTokens(t *testing.T) {
	with := func(tokens ...string) *app { return &app{cfg: &config.Config{API: config.API{Tokens: tokens}}} }
	short, long := strings.Repeat("x", 15), strings.Repeat("x", 16)
	for _, tc := range []struct {
		name   string
		a      *app
		roles  roleSet
		opts   roleOptions
		refuse bool
	}{
		{"api, short token", with(long, short), roleSet{api: true}, roleOptions{}, true},
		{"api, short token, insecure", with(short), roleSet{api: true}, roleOptions{insecure: true}, true},
		{"api, 16 characters", with(long), roleSet{api: true}, roleOptions{}, false},
		{"api, no token", with(), roleSet{api: true}, roleOptions{}, true},
		{"api, no token, insecure", with(), roleSet{api: true}, roleOptions{insecure: true}, false},
		{"worker, short token", with(short), roleSet{worker: true}, roleOptions{}, false},
		{"scheduler and worker, short token", with(short), roleSet{scheduler: true, worker: true}, roleOptions{}, false},
		{"worker, no token", with(), roleSet{worker: true}, roleOptions{}, false},
	} {
		if err := checkRoles(tc.a, tc.roles, tc.opts); (err != nil) != tc.refuse {
			t.Errorf("%s: %v, want refused %v", tc.name, err, tc.refuse)
		}
	}
	// The error names the short token by its place, never by its value.
	err := checkRoles(with(long, short), roleSet{api: true}, roleOptions{})
	if err == nil || !strings.Contains(err.Error(), "api.tokens[1] (token 2 of 2)") || strings.Contains(err.Error(), short) {
		t.Errorf("short second token: %v, want it named api.tokens[1] without its value", err)
	}
}

// TestConfigFlagBeatsEnv: -c names the config even when PAGEREPLY_CONFIG is
// set; the variable is the default only.
func TestConfigFlagBeatsEnv(t *testing.T) {
	env := &cmdEnv{getenv: func(k string) string {
		if k == "PAGEREPLY_CONFIG" {
			return "/etc/from-env.yaml"
		}
		return ""
	}}
	if got := configPath(env, "given.yaml"); got != "given.yaml" {
		t.Errorf("configPath with -c and PAGEREPLY_CONFIG: %q, want the flag's", got)
	}
	if got := configPath(env, ""); got != "/etc/from-env.yaml" {
		t.Errorf("configPath without -c: %q, want PAGEREPLY_CONFIG's", got)
	}
}

// TestNoCommandIsBadUsage: pagereply with no command prints the usage and
// exits 2, as SPEC.md's bad usage; pagereply help exits 0.
func TestNoCommandIsBadUsage(t *testing.T) {
	out, _, code := run(t)
	if code != exitUsage || !strings.Contains(out, "Commands:") {
		t.Errorf("no command: exit %d, want %d with the usage:\n%s", code, exitUsage, out)
	}
	if out, _, code := run(t, "help"); code != exitOK || !strings.Contains(out, "Commands:") {
		t.Errorf("help: exit %d, want 0 with the usage:\n%s", code, out)
	}
}

// listening reports whether something accepts connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestRoleCommandsRunTheirRoleOnly: each role command (and serve --roles)
// starts the roles it names and no other: no API listening on api.addr for
// a worker or a scheduler, no scheduler in a worker or an api process, and
// no /webhook without webhook.verify_token. A Redis that does not evict
// keys gets no eviction warning.
func TestRoleCommandsRunTheirRoleOnly(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Seed: 5}, "10/s")
	cfg, err := os.ReadFile(e.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	noWebhook := strings.Replace(string(cfg), "webhook:\n  verify_token: "+e2eVerifyToken+"\n", "", 1)
	if noWebhook == string(cfg) {
		t.Fatal("the e2e config has no webhook section to take out")
	}
	if err := os.WriteFile(e.cfgPath, []byte(noWebhook), 0o600); err != nil {
		t.Fatal(err)
	}
	policy, err := e.db.Client.ConfigGet(context.Background(), "maxmemory-policy").Result()
	noEviction := err == nil && policy["maxmemory-policy"] == "noeviction"

	for _, tc := range []struct {
		args                []string
		roles               string
		api, scheduler, run bool
	}{
		{[]string{"worker"}, "worker", false, false, true},
		{[]string{"scheduler"}, "scheduler", false, true, true},
		{[]string{"api"}, "api", true, false, true},
		{[]string{"serve", "--roles", "worker,api"}, "worker,api", true, false, true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			p := start(t, append(tc.args, "-c", e.cfgPath)...)
			eventually(t, 20*time.Second, "pagereply running", func() bool {
				select {
				case <-p.done:
					t.Fatalf("exited %d:\n%s", p.code, p.stderr)
				default:
				}
				return strings.Contains(p.stderr.String(), `"msg":"pagereply running"`)
			})
			log := p.stderr.String()
			if want := fmt.Sprintf(`"roles":%q`, tc.roles); !strings.Contains(log, want) {
				t.Errorf("no %s in the start line:\n%s", want, log)
			}
			if got := listening(e.api); got != tc.api {
				t.Errorf("API listening on api.addr: %v, want %v", got, tc.api)
			}
			if got := strings.Contains(log, `"msg":"scheduler started"`); got != tc.scheduler {
				t.Errorf("a scheduler started: %v, want %v:\n%s", got, tc.scheduler, log)
			}
			if tc.api {
				a := e.call(t, "GET", "/webhook?hub.mode=subscribe&hub.verify_token=&hub.challenge=abc", nil, nil)
				if a.status != http.StatusNotFound {
					t.Errorf("/webhook without webhook.verify_token: %d, want 404: %.200s", a.status, a.raw)
				}
			}
			if noEviction && strings.Contains(log, "may evict keys") {
				t.Errorf("an eviction warning under maxmemory-policy noeviction:\n%s", log)
			}
			stop(t, p)
			checkNoSecrets(t, e.secrets, map[string]string{"stderr": p.stderr.String()})
		})
	}
}

// TestStopAnswersRequestsInFlight: SIGTERM lets the API answer the requests
// in flight before the process exits (SPEC: nothing is lost): here a
// conversation reply, whose Graph read of the conversation takes 2 s.
// Before the answer the client cannot know whether its reply was queued.
func TestStopAnswersRequestsInFlight(t *testing.T) {
	t.Parallel() // mostly waits out the sandbox's 2 s answer
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 1, Conversations: 4, Seed: 3,
		Faults: sandbox.Faults{Latency: 2 * time.Second}}, "10/s")
	page := e.sb.Pages()[0].ID
	var conv string
	for _, c := range e.sb.Conversations(page) {
		if last := c.Messages[len(c.Messages)-1]; !last.FromPage && time.Since(last.CreatedTime) < 20*time.Hour {
			conv = c.ID
			break
		}
	}
	if conv == "" {
		t.Fatal("no conversation with a recent message from the person: change the seed")
	}
	p := start(t, "api", "-c", e.cfgPath)
	e.waitHealthy(t, p)
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		body := fmt.Sprintf(`{"page_id":%q,"conversation_id":%q,"text":"About your message"}`, page, conv)
		req, _ := http.NewRequest("POST", "http://"+e.api+"/v1/replies", strings.NewReader(body))
		bearer(e2eAPIToken)(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	eventually(t, 20*time.Second, "the API's Graph read in flight", func() bool {
		n := 0
		for _, c := range e.sb.Calls() {
			n += c
		}
		return n > 0
	})
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 60*time.Second); code != exitOK {
		t.Errorf("api exit %d after SIGTERM:\n%s", code, p.stderr)
	}
	select {
	case r := <-got:
		if r.err != nil || r.status != http.StatusAccepted {
			t.Errorf("the request in flight at SIGTERM: status %d, error %v; want 202\n%s", r.status, r.err, p.stderr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to the request in flight")
	}
}

// TestWorkerUsesMaxRetry: the worker role takes worker.max_retry from the
// config: a reply whose send fails transiently goes back for a retry
// (max_retry 3 in the e2e config), not to the archive as with none.
func TestWorkerUsesMaxRetry(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Posts: 1, Comments: 0, Seed: 21}, "10/s")
	page := e.sb.Pages()[0].ID
	target := e.sb.AddComment(e.sb.Posts(page)[0].ID, sandbox.User{ID: "777000141", Name: "Retry Person"}, "hi", time.Now().Add(-time.Minute))
	e.sb.SetFaults(sandbox.Faults{FailRate: 1})
	if out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page, "--comment", target, "--text", "hello"); code != exitOK {
		t.Fatalf("enqueue: %d %q %q", code, out, errOut)
	}
	p := start(t, "worker", "-c", e.cfgPath)
	insp := asynq.NewInspectorFromRedisClient(e.db.Client)
	eventually(t, 30*time.Second, "the failed send back for a retry", func() bool {
		if info, err := insp.GetQueueInfo(tasks.QueueReplies); err == nil && info.Archived > 0 {
			t.Fatalf("the reply archived after a transient failure with max_retry 3:\n%s", p.stderr)
		}
		return e.sb.Calls()[sandbox.EndpointMessages] > 0 && e.sb.SendCount(target) == 0 &&
			strings.Contains(p.stderr.String(), target)
	})
	eventually(t, 30*time.Second, "the reply in the retry set", func() bool {
		info, err := insp.GetQueueInfo(tasks.QueueReplies)
		if err != nil {
			return false
		}
		if info.Archived > 0 {
			t.Fatalf("the reply archived after a transient failure with max_retry 3:\n%s", p.stderr)
		}
		return info.Retry+info.Scheduled > 0
	})
	stop(t, p)
}

// TestRedisAwayAtStartLogsNoPassword: a role started while Redis does not
// answer says so, and stops on SIGTERM, with no word of redis.url's
// password in its log.
func TestRedisAwayAtStartLogsNoPassword(t *testing.T) {
	t.Parallel() // mostly waits on the processes it runs; own database
	const pw = "s3cret-redis-pass-0123456789"
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: redis://:" + pw + "@" + freeAddr(t) + "/0\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := start(t, "worker", "-c", cfg)
	eventually(t, 30*time.Second, "the Redis-away warning", func() bool {
		return strings.Contains(p.stderr.String(), "Redis does not answer yet")
	})
	stop(t, p)
	if strings.Contains(p.stderr.String(), pw) || strings.Contains(p.stderr.String(), pw[:12]) {
		t.Errorf("redis.url's password in the log:\n%s", p.stderr)
	}
}
