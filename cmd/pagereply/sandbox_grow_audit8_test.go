package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

// getStats reads GET /_sandbox/stats at base, as a map (to see which keys
// it has) and as the struct.
func getStats(t *testing.T, base string) (map[string]any, sandboxStatsBody) {
	t.Helper()
	resp, err := http.Get(base + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stats: %d %v", resp.StatusCode, err)
	}
	var raw map[string]any
	var st sandboxStatsBody
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return raw, st
}

// oldStatsKeys are the keys GET /_sandbox/stats had before --grow.
var oldStatsKeys = []string{"sends", "duplicates", "already_replied", "throttled", "injected_failures", "dropped_answers", "tokens_in_url", "calls", "pages"}

// TestSandboxGrowCountFollowsRateAudit8: --grow adds, tick after tick, the
// count its rate makes of the time the ticks span (a rate below one a tick
// carried over, never rounded up nor lost), the stats say it, and a tick
// after a long stop adds at most a second's worth.
func TestSandboxGrowCountFollowsRateAudit8(t *testing.T) {
	for _, rate := range []string{"5/s", "3/2s", "7/m", "250/s", "1/h"} {
		t.Run(rate, func(t *testing.T) {
			r, err := config.ParseRate(rate)
			if err != nil {
				t.Fatal(err)
			}
			sb := sandbox.New(sandbox.Options{Pages: 3, Posts: 2, Comments: 1, Conversations: 1, VisitorPosts: true, Seed: 1})
			srv := httptest.NewServer(sandboxStats(sb, nil))
			t.Cleanup(srv.Close)
			g := newSandboxGrowth(sb, r, nil, io.Discard)
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			g.last = start
			total := 0
			for k := int64(1); k <= 137; k++ {
				total += len(g.step(start.Add(time.Duration(k) * sandboxGrowTick)))
				if want := int(k * int64(sandboxGrowTick) * int64(r.N) / int64(r.Per)); total != want {
					t.Fatalf("after %d ticks: %d added, want %d", k, total, want)
				}
			}
			raw, st := getStats(t, srv.URL)
			if got := st.Grown.Comments + st.Grown.Posts + st.Grown.Messages; got != total {
				t.Fatalf("stats grown %+v, want %d in all", st.Grown, total)
			}
			for _, k := range append(oldStatsKeys, "grown") {
				if _, ok := raw[k]; !ok {
					t.Fatalf("stats without %q: %v", k, raw)
				}
			}
			if _, ok := raw["webhook"]; ok {
				t.Fatalf("stats with webhook, without --webhook: %v", raw)
			}
			// An hour between two ticks (the process stopped): a second's worth.
			before := total
			total += len(g.step(start.Add(137*sandboxGrowTick + time.Hour)))
			if got, most := total-before, int(int64(time.Second)*int64(r.N)/int64(r.Per))+1; got > most {
				t.Fatalf("a tick after an hour added %d, want at most %d", got, most)
			}
		})
	}
}

// runSandboxWithSecret runs the sandbox command as runInBackground does,
// with FB_APP_SECRET in its environment.
func runSandboxWithSecret(ctx context.Context, secret string, args ...string) (stdout, stderr *proctest.Buffer, done <-chan int) {
	stdout, stderr = new(proctest.Buffer), new(proctest.Buffer)
	env := &cmdEnv{stdout: stdout, stderr: stderr, getenv: func(k string) string {
		if k == sandboxAppSecretEnv {
			return secret
		}
		return ""
	}}
	code := make(chan int, 1)
	go func() { code <- runSandbox(ctx, env, args) }()
	return stdout, stderr, code
}

type hookIntake struct {
	mu    sync.Mutex
	items []tasks.WebhookItem
}

func (h *hookIntake) EnqueueWebhookItem(_ context.Context, it tasks.WebhookItem) (tasks.Outcome, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.items = append(h.items, it)
	return tasks.Enqueued, nil
}

func (h *hookIntake) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.items)
}

// TestSandboxCommandGrowWebhookAudit8: pagereply sandbox --grow 100/s
// --webhook URL, with the app secret in FB_APP_SECRET, keeps adding
// comments that its feed then lists, and delivers them to pagereply's own
// webhook handler, which verifies and queues them; its page lines and its
// other output are as before, its stats keep their keys and add grown and
// webhook, and it says what it added when it stops.
func TestSandboxCommandGrowWebhookAudit8(t *testing.T) {
	const secret = "sandbox-grow-app-secret-41"
	in := &hookIntake{}
	var wh http.Handler
	var whMu sync.Mutex
	hookSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		whMu.Lock()
		h := wh
		whMu.Unlock()
		if h == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hookSrv.Close)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr, done := runSandboxWithSecret(ctx, secret, "--addr", "127.0.0.1:0", "--pages", "1", "--posts", "2", "--comments", "3",
		"--conversations", "0", "--seed", "6", "--grow", "100/s", "--webhook", hookSrv.URL+"/webhook")
	addr := waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]
	m := regexp.MustCompile(`^page ([0-9]+) token (EAAB[A-Za-z0-9]+)\n$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("stdout %q: want the page line alone", stdout.String())
	}
	whMu.Lock()
	wh = api.NewWebhook(api.WebhookParams{VerifyToken: "v", AppSecret: secret, Intake: in,
		Pages:  []config.Page{{ID: m[1], AccessToken: m[2], ReplyTo: []string{config.ReplyComments, config.ReplyPosts}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	whMu.Unlock()

	// The feed lists more comments than were seeded (2 posts × 3).
	listed := func() int {
		req, _ := http.NewRequest(http.MethodGet, addr+"/v25.0/"+m[1]+"/feed?fields=id,comments.limit(0).summary(true)", nil)
		req.Header.Set("Authorization", "Bearer "+m[2])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var feed struct {
			Data []struct {
				Comments struct {
					Summary struct {
						TotalCount int `json:"total_count"`
					} `json:"summary"`
				} `json:"comments"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&feed); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, p := range feed.Data {
			n += p.Comments.Summary.TotalCount
		}
		return n
	}
	eventually(t, 20*time.Second, "comments added and delivered", func() bool {
		_, st := getStats(t, addr)
		return listed() >= 6+10 && st.Webhook != nil && st.Webhook.Delivered >= 10 && in.count() >= 10
	})
	raw, st := getStats(t, addr)
	for _, k := range append(oldStatsKeys, "grown", "webhook") {
		if _, ok := raw[k]; !ok {
			t.Fatalf("stats without %q: %v", k, raw)
		}
	}
	if st.Webhook.Failed != 0 || st.Webhook.Dropped != 0 {
		t.Fatalf("webhook stats %+v", st.Webhook)
	}
	cancel()
	select {
	case code := <-done:
		out := stderr.String()
		if code != exitOK || !strings.Contains(out, "sandbox stopped after 0 sends; 0 comments or posts got more than one private reply; 0 sends refused as already replied; 0 throttled\n") ||
			!regexp.MustCompile(`\nsandbox added [0-9]+ comments \([0-9]+ of them replies\), [0-9]+ posts, 0 messages\nwebhook deliveries: [0-9]+ delivered, [0-9]+ retries, 0 failed, 0 dropped\n$`).MatchString(out) ||
			!strings.Contains(out, "adding visitors' comments at 100/s across the Pages, each comment and post delivered to "+hookSrv.URL+"/webhook\n") {
			t.Fatalf("exit %d; stderr %q", code, out)
		}
		if strings.Contains(out, secret) || strings.Contains(stdout.String(), secret) {
			t.Fatal("the app secret in the output")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("sandbox did not stop on cancel")
	}
}

// TestSandboxCommandNoGrowAudit8: without --grow the sandbox adds nothing
// (its behaviour before the flag): three ticks' time later its stats say 0
// grown and have no webhook, its feed lists what was seeded, and its output
// is what it was.
func TestSandboxCommandNoGrowAudit8(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, stderr, done := runInBackground(ctx, runSandbox, "--addr", "127.0.0.1:0", "--pages", "1", "--posts", "2", "--comments", "3")
	addr := waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]
	time.Sleep(3 * sandboxGrowTick)
	raw, st := getStats(t, addr)
	if st.Grown != (sandbox.GrowStats{}) || st.Webhook != nil || raw["webhook"] != nil {
		t.Fatalf("stats without --grow: %v", raw)
	}
	cancel()
	<-done
	want := "sandbox listening on " + addr + "\nwhat it received: curl " + addr + "/_sandbox/stats\n" +
		"sandbox stopped after 0 sends; 0 comments or posts got more than one private reply; 0 sends refused as already replied; 0 throttled\n"
	if got := strings.ReplaceAll(stderr.String(), "http://", ""); got != strings.ReplaceAll(want, "http://", "") {
		t.Fatalf("stderr %q, want %q", stderr.String(), want)
	}
}

// TestSandboxCommandGrowBadFlagsAudit8: --grow takes a rate as the config
// does; --webhook needs --grow, an http(s) URL and the app secret, and
// refuses two different ones; each is a usage error naming the flag, with
// no secret in it.
func TestSandboxCommandGrowBadFlagsAudit8(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		args         []string
		want         string
	}{
		{"grow not a rate", "", []string{"--grow", "fast"}, "-grow: want N/s"},
		{"grow zero", "", []string{"--grow", "0/s"}, "-grow: the count must be positive"},
		{"webhook without grow", "s", []string{"--webhook", "http://127.0.0.1:1/webhook"}, "--webhook delivers what --grow adds"},
		{"webhook not http", "s", []string{"--grow", "1/s", "--webhook", "ftp://x/webhook"}, "--webhook: want an http or https URL"},
		{"webhook no secret", "", []string{"--grow", "1/s", "--webhook", "http://127.0.0.1:1/webhook"}, "set FB_APP_SECRET"},
		{"two secrets", "one-secret", []string{"--grow", "1/s", "--webhook", "http://127.0.0.1:1/webhook", "--app-secret", "another-secret"}, "FB_APP_SECRET and --app-secret differ"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, done := runSandboxWithSecret(context.Background(), tc.secret, append([]string{"--addr", "127.0.0.1:0"}, tc.args...)...)
			if code := <-done; code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr %q", code, exitUsage, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) || stdout.String() != "" {
				t.Fatalf("stderr %q does not say %q (stdout %q)", stderr.String(), tc.want, stdout.String())
			}
			if strings.Contains(stderr.String(), "one-secret") || strings.Contains(stderr.String(), "another-secret") {
				t.Fatalf("a secret in %q", stderr.String())
			}
		})
	}
}

// TestSandboxGrowServeEndToEndAudit8: serve against a growing sandbox
// keeps replying. Its poll (every second) finds the comments and posts
// --grow adds after its first burst and answers each once; then, with
// --webhook pointing at serve's /webhook, every delivery is accepted by
// serve (its signature checked with graph.app_secret) and what it names is
// answered once. Ticks are the test's.
func TestSandboxGrowServeEndToEndAudit8(t *testing.T) {
	e := newE2EPages(t, sandbox.Options{Pages: 2, Posts: 3, Comments: 4, Conversations: 0, VisitorPosts: true, Seed: 12}, func(_ int, p sandbox.Page) string {
		return fmt.Sprintf("  - id: \"%s\"\n    access_token: \"%s\"\n    schedule: \"@every 1s\"\n    rate: 50/s\n    reply_to: [comments, posts]\n    default_text: \"Thanks, {{.FirstName}}!\"\n", p.ID, p.Token)
	})
	p := start(t, "serve", "-c", e.cfgPath)
	e.waitHealthy(t, p)
	want := e.eligible()
	eventually(t, 30*time.Second, fmt.Sprintf("the first burst of %d sends", want), func() bool { return len(e.sb.Sends()) >= want })

	answered := func(added []sandbox.Growth) func() bool {
		return func() bool {
			for _, g := range added {
				target := g.CommentID
				if g.Kind == sandbox.KindPost {
					target = g.PostID
				}
				if g.CanReplyPrivately && e.sb.SendCount(target) != 1 {
					return false
				}
			}
			return true
		}
	}
	grow := func(g *sandboxGrowth, ticks int) []sandbox.Growth {
		var added []sandbox.Growth
		start := time.Now()
		g.last = start
		for k := 1; k <= ticks; k++ {
			added = append(added, g.step(start.Add(time.Duration(k)*sandboxGrowTick))...)
		}
		return added
	}

	// The poll finds what grows.
	rate, _ := config.ParseRate("20/s")
	polled := grow(newSandboxGrowth(e.sb, rate, nil, io.Discard), 10)
	if len(polled) != 20 {
		t.Fatalf("10 ticks at 20/s added %d", len(polled))
	}
	eventually(t, 30*time.Second, "the poll's replies to what grew", answered(polled))

	st1 := e.sb.GrowStats()
	phase1 := st1.Comments + st1.Posts

	// The webhook: deliveries accepted by serve, what they name answered.
	hook := &sandbox.Webhook{URL: "http://" + e.api + "/webhook", AppSecret: e2eAppSecret}
	g := newSandboxGrowth(e.sb, rate, hook, io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	ticks := make(chan time.Time)
	stopped := make(chan struct{})
	t0 := time.Now()
	go func() { defer close(stopped); g.run(ctx, t0, ticks) }()
	for k := 1; k <= 10; k++ {
		ticks <- t0.Add(time.Duration(k) * sandboxGrowTick)
	}
	// 10 ticks at 20/s: 20 items, the messages among them not delivered
	// (the private replies sent opened conversations).
	total := func() int { st := e.sb.GrowStats(); return st.Comments + st.Posts + st.Messages }
	eventually(t, 10*time.Second, "40 items grown", func() bool { return total() == 40 })
	st := e.sb.GrowStats()
	delivered := st.Comments + st.Posts - phase1
	eventually(t, 30*time.Second, "the webhook deliveries", func() bool { return g.webhookStats().Delivered >= int64(delivered) })
	cancel()
	<-stopped
	if ws := g.webhookStats(); ws.Delivered != int64(delivered) || ws.Failed != 0 || ws.Dropped != 0 {
		t.Fatalf("webhook stats %+v, want %d delivered", ws, delivered)
	}
	a := e.call(t, "GET", "/metrics", nil, nil)
	mm := regexp.MustCompile(`pagereply_webhook_deliveries_total\{outcome="accepted"\} ([0-9]+)`).FindStringSubmatch(a.raw)
	if mm == nil {
		t.Fatalf("no accepted deliveries in the metrics: %.2000s", a.raw)
	}
	if n, _ := strconv.Atoi(mm[1]); n != delivered {
		t.Fatalf("serve accepted %d deliveries, the sandbox made %d", n, delivered)
	}
	if bad := regexp.MustCompile(`pagereply_webhook_deliveries_total\{outcome="bad_signature"\} ([0-9]+)`).FindStringSubmatch(a.raw); bad == nil || bad[1] != "0" {
		t.Fatalf("bad signatures: %v", bad)
	}
	if e.sb.Duplicates() != 0 {
		t.Fatalf("%d duplicate sends", e.sb.Duplicates())
	}
}

// TestSandboxWebhookURLPasswordNotShownAudit8: a --webhook URL holding a
// password (user:pass@, a proxy's basic auth) is never printed: not in the
// usage error of a URL it refuses, not in the line that names where it
// delivers.
func TestSandboxWebhookURLPasswordNotShownAudit8(t *testing.T) {
	t.Setenv("FB_APP_SECRET", "s")
	_, errOut, code := runInProcess(t, nil, "sandbox", "--addr", "127.0.0.1:0", "--grow", "1/s", "--webhook", "ftp://hook:pw-s3cret@x/webhook")
	if code == exitOK || strings.Contains(errOut, "pw-s3cret") || !strings.Contains(errOut, "want an http or https URL") {
		t.Errorf("refused URL: exit %d, stderr %q", code, errOut)
	}
	if got := redactedURL("http://hook:pw-s3cret@127.0.0.1:8080/webhook"); strings.Contains(got, "pw-s3cret") || !strings.Contains(got, "127.0.0.1:8080/webhook") {
		t.Errorf("redactedURL = %q", got)
	}
}
