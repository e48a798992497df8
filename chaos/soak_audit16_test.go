//go:build soak

package chaos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

var (
	soakFor   = flag.Duration("soak.for", 12*time.Minute, "length of the soak: chaos for all but its last 2 minutes, growth for all but its last minute, then the wait for every reply")
	soakPort  = flag.Int("soak.port", 0, "port of the soak's own redis-server (started and restarted by the soak)")
	soakSeed  = flag.Int64("soak.seed", 1, "sandbox seed")
	soakOut   = flag.String("soak.out", "", "directory to copy the process logs and the report to")
	soakGrow  = flag.Float64("soak.grow", 2, "items grown per second across the Pages")
	soakRate  = flag.Int("soak.rate", 5, "rate per second of every Page")
	soakBurst = flag.Int("soak.burst", 2, "burst of every Page")
	soakFail  = flag.Float64("soak.fail", 0.03, "share of Graph calls answered with a transient 500")
	soakDrop  = flag.Float64("soak.drop", 0.01, "share of sends whose answer is lost")
	soakJit   = flag.Duration("soak.jitter", 20*time.Millisecond, "Graph latency jitter")
	soakKill  = flag.Duration("soak.kill", 40*time.Second, "least time between worker restarts (plus up to 30s)")
	// Meta batches a Page webhook's changes, of several Pages, up to 1,000
	// in one delivery, and delivers a batch not answered 2xx again, whole.
	soakHookWindow = flag.Duration("soak.webhook-window", 200*time.Millisecond, "how long the webhook gathers the changes after a first into one delivery (up to 1,000; 0: a delivery per change)")
	// An app not live (not through App Review) may message only the people
	// with a role on it: the sandbox refuses a send to anyone else with 400,
	// code 10, subcode 2018028 (sandbox.Options.AppNotLive).
	soakNotLive = flag.Bool("soak.app-not-live", false, "run the sandbox as an app not live: sends to people without a role on it are refused (400, code 10, subcode 2018028), and the audit expects their replies archived as failed, not sent")
	soakTesters = flag.String("soak.app-testers", "0.5", "with -soak.app-not-live, the people with a role on the app: a share of the seeded people (0.5) or their ids (ID,ID); people grown later have none")
)

// soakHookWorkers are the webhook deliveries made at once (as `pagereply
// sandbox --webhook`'s): a batch tried again does not hold the next back.
const soakHookWorkers = 4

const (
	soakVerify = "soak-verify-token-8c1d2e"
	soakSecret = "soak-app-secret-4f90ab7e"
	soakAPITok = "soak-api-token-1a2b3c4d5e6f"
)

// soakRedis is the soak's own redis-server with an append-only file.
type soakRedis struct {
	port int
	dir  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

func (s *soakRedis) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "yes", "--appendfsync", "everysec", "--enable-debug-command", "local", "--dir", s.dir, "--logfile", filepath.Join(s.dir, "redis.log"))
	// Killed with the test binary: a -timeout panic runs no cleanup.
	proctest.DieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd = cmd
	for range 100 {
		if out, err := exec.Command("redis-cli", "-p", strconv.Itoa(s.port), "ping").Output(); err == nil && strings.TrimSpace(string(out)) == "PONG" {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return errors.New("redis did not answer PING")
}

func (s *soakRedis) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

func (s *soakRedis) cli(args ...string) (string, error) {
	out, err := exec.Command("redis-cli", append([]string{"-p", strconv.Itoa(s.port)}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// answer is one error answer the sandbox gave.
type answer struct {
	at       time.Time
	page     string
	method   string
	path     string
	status   int
	code     int
	subcode  int
	injected bool // inside a Throttle the soak injected on that Page
}

// tap records the sandbox's error answers.
type tap struct {
	h       http.Handler
	mu      sync.Mutex
	answers []answer
	forced  map[string][][2]time.Time
	now     func() time.Time // the sandbox's clock; nil: time.Now
}

func (tp *tap) force(page string, from, to time.Time) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.forced[page] = append(tp.forced[page], [2]time.Time{from, to})
}

type capW struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
}

func (c *capW) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capW) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = 200
	}
	if c.status >= 400 && c.buf.Len() < 4096 {
		c.buf.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

func (c *capW) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if hj, ok := c.ResponseWriter.(http.Hijacker); ok {
		return hj.Hijack()
	}
	return nil, nil, errors.New("no hijacker")
}

func (c *capW) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

var bucPageRe = regexp.MustCompile(`"(\d+)"\s*:`)

func (tp *tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &capW{ResponseWriter: w}
	tp.h.ServeHTTP(cw, r)
	if cw.status < 400 {
		return
	}
	var body struct {
		Error struct {
			Code    int `json:"code"`
			Subcode int `json:"error_subcode"`
		} `json:"error"`
	}
	_ = json.Unmarshal(cw.buf.Bytes(), &body)
	at := time.Now()
	if tp.now != nil {
		at = tp.now()
	}
	a := answer{at: at, method: r.Method, path: r.URL.Path, status: cw.status, code: body.Error.Code, subcode: body.Error.Subcode}
	if m := bucPageRe.FindStringSubmatch(w.Header().Get("X-Business-Use-Case-Usage")); m != nil {
		a.page = m[1]
	}
	tp.mu.Lock()
	for _, win := range tp.forced[a.page] {
		if !a.at.Before(win[0].Add(-50*time.Millisecond)) && a.at.Before(win[1].Add(50*time.Millisecond)) {
			a.injected = true
		}
	}
	tp.answers = append(tp.answers, a)
	tp.mu.Unlock()
}

// soakPage is one Page's config in the soak.
type soakPage struct {
	sandbox.Page
	kinds      []string
	def        bool
	perPerson  bool
	rules      bool
	personGap  string
	conversing bool
}

// TestSoak_audit16 is a soak with chaos, run by hand (the soak build tag):
// four Pages of the Graph sandbox with 600 seeded comments and 10
// conversations each, growing at -soak.grow items a second, at random
// moments (a Poisson process), (comments, some
// visitor posts and messages; the comments and posts delivered by the webhook
// as Meta delivers them: the changes of -soak.webhook-window batched into one
// delivery, of several Pages, and a delivery not answered 2xx delivered
// again, whole), served by an api, a scheduler and two worker
// processes over a redis-server of its own (AOF, everysec) on -soak.port,
// while workers are SIGKILLed or SIGTERMed and restarted, the api is
// SIGKILLed and restarted (deliveries fail meanwhile), Redis is SIGKILLed
// and restarted, frozen (CLIENT PAUSE 3000 ALL, DEBUG SLEEP 3), Graph
// throttles a Page now and then and fails some calls. Then, from the
// sandbox's record: no second reply to a comment, post or person, none
// missed, no throttle answer outside the injected ones (the sandbox's own
// send and read limits are rate + burst and rate + burst + 1 a second), no
// secret in a log, no webhook change left undelivered. The report counts the
// webhook's batches (changes per batch, batches retried) and tells each
// Page's reads from the sandbox's read log: its busiest second per rate limit type, the reads (and send
// calls) of the second before each throttle answer not injected, with the
// longest silence of every Page before it (a stall, after which calls sent
// during it arrive together), and the busiest second after
// each chaos event (reads.txt and reads_events.txt in -soak.out hold them
// all), so a throttle can be told from a burst of pagereply's own reads.
//
// With -soak.app-not-live the sandbox is an app not through App Review:
// only the people of -soak.app-testers (a share of the seeded people, or
// their ids) have a role, a send to anyone else is refused (400, code 10,
// subcode 2018028). Their replies are then expected refused, not sent: each
// eligible comment or post of theirs (on the one_reply_per_person Page, one
// of theirs) tried and refused, archived with Graph's reason and counted
// failed in the ledger, nothing sent to them, no Page paused for it; one of
// theirs never tried is a miss, as a reply to anyone else not sent is.
//
//	go test -tags soak -timeout 30m -run TestSoak -v ./chaos/ -soak.port 7468 -soak.out /tmp/soak
//
// (go test's default -timeout, 10 minutes, is shorter than the soak.)
func TestSoak_audit16(t *testing.T) {
	if *soakPort == 0 {
		t.Skip("-soak.port not set")
	}
	began := time.Now()
	rng := rand.New(rand.NewPCG(uint64(*soakSeed), 11))
	dir := t.TempDir()
	rs := &soakRedis{port: *soakPort, dir: dir}
	if err := rs.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rs.kill)
	rate, burst := *soakRate, *soakBurst
	sb := sandbox.New(sandbox.Options{Pages: 4, Posts: 15, Comments: 40, Conversations: 10, VisitorPosts: true,
		Seed: *soakSeed, AppSecret: soakSecret, SendRate: float64(rate + burst), ReadRate: float64(rate + burst + 1),
		ThrottleBlock: 30 * time.Second, LogReads: true, LogCalls: true, WatchStalls: true})
	t.Cleanup(sb.Close)
	access, err := soakAppAccess(sb)
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{h: sb, forced: map[string][][2]time.Time{}}
	gs := httptest.NewServer(tp)
	t.Cleanup(gs.Close)
	apiAddr := proctest.FreeAddr(t)

	var pages []soakPage
	for i, p := range sb.Pages() {
		sp := soakPage{Page: p, rules: true}
		switch i {
		case 0:
			sp.kinds, sp.def, sp.conversing = []string{"comments", "posts", "conversations"}, true, true
		case 1:
			sp.kinds = []string{"comments", "posts"} // no default: no_rule skips
		case 2:
			sp.kinds, sp.def, sp.perPerson, sp.conversing = []string{"comments", "posts", "conversations"}, true, true, true
		case 3:
			sp.kinds, sp.def, sp.personGap = []string{"comments", "posts"}, true, "3s"
		}
		pages = append(pages, sp)
	}
	var y strings.Builder
	q := strconv.Quote
	fmt.Fprintf(&y, "redis:\n  url: %s\n", q(fmt.Sprintf("redis://127.0.0.1:%d/0", *soakPort)))
	fmt.Fprintf(&y, "graph:\n  base_url: %s\n  app_secret: %s\n  timeout: 3s\n", q(gs.URL), q(soakSecret))
	y.WriteString("pages:\n")
	for _, p := range pages {
		fmt.Fprintf(&y, "  - id: %s\n    access_token: %s\n    schedule: \"@every 5s\"\n    rate: %d/s\n    burst: %d\n    reply_to: [%s]\n",
			q(p.ID), q(p.Token), rate, burst, strings.Join(p.kinds, ", "))
		fmt.Fprintf(&y, "    rules:\n      - match: %s\n        text: %s\n", q(ruleMatch), q(ruleText))
		if p.def {
			fmt.Fprintf(&y, "    default_text: %s\n", q(defaultText))
		}
		if p.perPerson {
			y.WriteString("    one_reply_per_person: true\n")
		}
		if p.personGap != "" {
			fmt.Fprintf(&y, "    person_gap: %s\n", p.personGap)
		}
	}
	fmt.Fprintf(&y, "worker:\n  concurrency: 10\n  max_retry: 10\n")
	fmt.Fprintf(&y, "webhook:\n  verify_token: %s\n", q(soakVerify))
	fmt.Fprintf(&y, "api:\n  addr: %s\n  tokens: [%s]\n", q(apiAddr), q(soakAPITok))
	y.WriteString("log:\n  level: info\n  format: json\n")
	cfgPath := filepath.Join(dir, "pagereply.yaml")
	if err := os.WriteFile(cfgPath, []byte(y.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	r := &rig{t: t, o: rigOptions{rate: rate, burst: burst, asynq: asynq.RedisClientOpt{Addr: fmt.Sprintf("127.0.0.1:%d", *soakPort)}},
		bin: proctest.Binary(t, proctest.BuildOptions{}), sb: sb, api: apiAddr, cfgPath: cfgPath,
		defaults: map[string]bool{}, apiTexts: map[string]string{}, perm: map[string]string{}}
	for _, p := range pages {
		r.pages = append(r.pages, p.Page)
		r.secrets = append(r.secrets, p.Token)
	}
	r.secrets = append(r.secrets, soakAPITok, soakSecret, soakVerify)

	sb.SetFaults(sandbox.Faults{FailRate: *soakFail, DropRate: *soakDrop, Jitter: *soakJit})
	apiProc := r.start("api", "api")
	if err := r.waitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	w1 := r.start("worker-1", "worker")
	w2 := r.start("worker-2", "worker")
	r.start("scheduler", "scheduler")
	workers := []*proctest.Proc{w1, w2}
	start := time.Now()

	// Growth with webhook deliveries, batched and redelivered as Meta's
	// (soakWebhook): tried again 1, 2, 4 … s apart (up to 10 s) while the
	// api or its Redis is down, for Meta's 36 hours (here: until the soak
	// closes the webhook).
	wh := startSoakWebhook(func() *sandbox.Webhook {
		return &sandbox.Webhook{URL: "http://" + apiAddr + "/webhook", AppSecret: soakSecret, BatchWindow: *soakHookWindow,
			Backoff: time.Second, MaxBackoff: 10 * time.Second, RetryFor: sandbox.DefaultWebhookRetryFor}
	}, soakHookWorkers)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var grown atomic.Int64
	var growWG sync.WaitGroup
	growWG.Add(1)
	go func() {
		defer growWG.Done()
		// People comment at random moments, not on a metronome: the
		// waits between items are exponential (a Poisson process of
		// -soak.grow a second), so some come close together and share
		// a webhook delivery, as Meta batches them. A random source of
		// its own keeps the chaos of a seed as it was.
		arrivals := rand.New(rand.NewPCG(uint64(*soakSeed), 23))
		mean := float64(time.Second) / *soakGrow
		tm := time.NewTimer(time.Duration(arrivals.ExpFloat64() * mean))
		defer tm.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tm.C:
			}
			tm.Reset(time.Duration(arrivals.ExpFloat64() * mean))
			for _, g := range sb.Grow(1) {
				grown.Add(1)
				wh.add(g)
			}
		}
	}()

	// Chaos.
	var events []string
	var evs []soakEvent
	logEv := func(format string, args ...any) {
		now := time.Now()
		s := fmt.Sprintf("%6.1fs ", now.Sub(start).Seconds()) + fmt.Sprintf(format, args...)
		events = append(events, s)
		evs = append(evs, soakEvent{at: now, text: fmt.Sprintf(format, args...)})
		t.Log(s)
	}
	counts := map[string]int{}
	chaosEnd := start.Add(*soakFor - 2*time.Minute)
	nextWorker := start.Add(45 * time.Second)
	nextThrottle := start.Add(70 * time.Second)
	redisPlan := []struct {
		at   time.Duration
		what string
	}{
		{*soakFor / 5, "pause"}, {*soakFor * 3 / 10, "restart"}, {*soakFor * 2 / 5, "sleep"},
		{*soakFor / 2, "pause"}, {*soakFor * 3 / 5, "sleep"}, {*soakFor * 7 / 10, "restart"},
	}
	// The api SIGKILLed and restarted: the webhook's deliveries meanwhile
	// fail (connection refused, or cut mid-request) and are delivered again.
	// Its random source is its own: the rest of a seed's chaos is as it was.
	apiPlan := []time.Duration{*soakFor / 4, *soakFor * 13 / 20}
	apiRng := rand.New(rand.NewPCG(uint64(*soakSeed), 29))
	killedMid := 0
	for time.Now().Before(chaosEnd) {
		time.Sleep(250 * time.Millisecond)
		if err := r.alive(); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if now.After(nextWorker) {
			nextWorker = now.Add(*soakKill + time.Duration(rng.Int64N(int64(30*time.Second))))
			w := workers[rng.IntN(2)]
			if rng.IntN(2) == 0 {
				if err := r.killRestart(w, 500*time.Millisecond+time.Duration(rng.Int64N(int64(time.Second)))); err != nil {
					t.Fatal(err)
				}
				killedMid++
				counts["worker SIGKILL"]++
				logEv("%s SIGKILLed and restarted", w.Name())
			} else {
				r.chaosMu.Lock()
				t0 := time.Now()
				code, err := w.Stop(45 * time.Second)
				took := time.Since(t0)
				if err == nil {
					time.Sleep(500 * time.Millisecond)
					err = w.Restart()
				}
				r.chaosMu.Unlock()
				if err != nil || code != 0 {
					t.Errorf("%s: SIGTERM: exit %d, %v", w.Name(), code, err)
				}
				counts["worker SIGTERM"]++
				logEv("%s SIGTERMed (exit %d after %s) and restarted", w.Name(), code, took.Round(time.Millisecond))
			}
		}
		if now.After(nextThrottle) {
			nextThrottle = now.Add(60*time.Second + time.Duration(rng.Int64N(int64(40*time.Second))))
			pg := pages[rng.IntN(len(pages))].ID
			d := 10*time.Second + time.Duration(rng.Int64N(int64(10*time.Second)))
			tp.force(pg, time.Now(), time.Now().Add(d))
			sb.Throttle(pg, d)
			counts["Graph throttles a Page (injected)"]++
			logEv("Graph throttles Page %s for %s", pg, d.Round(time.Millisecond))
		}
		if len(apiPlan) > 0 && now.Sub(start) >= apiPlan[0] {
			apiPlan = apiPlan[1:]
			down := 2*time.Second + time.Duration(apiRng.Int64N(int64(2*time.Second)))
			if err := r.killRestart(apiProc, down); err != nil {
				t.Fatal(err)
			}
			counts["api SIGKILL + restart"]++
			logEv("api SIGKILLed, down %s, restarted", down.Round(time.Millisecond))
		}
		if len(redisPlan) > 0 && now.Sub(start) >= redisPlan[0].at {
			what := redisPlan[0].what
			redisPlan = redisPlan[1:]
			switch what {
			case "pause":
				out, err := rs.cli("client", "pause", "3000", "ALL")
				counts["Redis CLIENT PAUSE 3000 ALL"]++
				logEv("redis-cli client pause 3000 ALL: %s %v", out, err)
			case "sleep":
				out, err := rs.cli("debug", "sleep", "3")
				counts["Redis DEBUG SLEEP 3"]++
				logEv("redis-cli debug sleep 3: %s %v", out, err)
			case "restart":
				r.chaosMu.Lock()
				rs.kill()
				time.Sleep(time.Second)
				err := rs.start()
				r.chaosMu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
				counts["Redis SIGKILL + restart (AOF)"]++
				logEv("Redis SIGKILLed and restarted from its AOF")
			}
		}
	}
	logEv("chaos over; growth goes on for a minute")
	time.Sleep(time.Minute)
	cancel()
	growWG.Wait()
	sb.SetFaults(sandbox.Faults{})
	logEv("growth stopped (%d items grown); faults off", grown.Load())
	// Every change the webhook was given is delivered, at a later try for
	// those whose tries failed: the api is up and answers 2xx again.
	hook := wh.close(2 * time.Minute)
	logEv("webhook deliveries over: %d batches, %d retried, %d changes undelivered", hook.Batches, hook.Retried, hook.Undelivered())
	if hook.Undelivered() != 0 {
		t.Errorf("webhook: %d of %d changes never answered 2xx (%s): %v", hook.Undelivered(), hook.Queued, hook, hook.Errs)
	}

	// Settle.
	settled := time.Now()
	var missing []string
	err = proctest.WaitFor(5*time.Minute, "every eligible item answered", func() bool {
		if err := r.alive(); err != nil {
			t.Fatal(err)
		}
		missing = soakMissing(sb, pages, access, time.Now())
		return len(missing) == 0
	})
	if err != nil {
		t.Errorf("%v: %d missing: %v", err, len(missing), head(missing, 20))
		for _, id := range head(missing, 5) {
			t.Logf("story of %s:\n%s", id, r.story(id, nil))
		}
	}
	logEv("settled %s after growth stopped", time.Since(settled).Round(time.Second))
	time.Sleep(20 * time.Second) // late retries must add nothing
	r.waitLedgerSettled(t, time.Minute)
	r.stopAll(t)
	r.killedMidSend = killedMid

	// Checks.
	rep := soakCheck(t, r, sb, pages, tp, access)
	reads := soakReads(sb, pages, tp, evs, start, rate+burst+1)
	r.checkNoSecrets(t)
	if n := sb.TokensInURL(); n != 0 {
		t.Errorf("%d calls carried the token in the URL", n)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "soak seed %d for %s (rate %d/s burst %d): %d items grown, %d webhook deliveries (%d retried, %d failed)\n",
		*soakSeed, *soakFor, rate, burst, grown.Load(), hook.Delivered, hook.Retries, hook.FailedChanges)
	b.WriteString(hook.String() + "\n")
	b.WriteString(rep)
	b.WriteString(reads.summary)
	fmt.Fprintf(&b, "injected transient errors (500, code 2): %d; answers dropped after send: %d\n", sb.InjectedFailures(), sb.DroppedAnswers())
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "chaos: %s: %d\n", k, counts[k])
	}
	b.WriteString("events:\n  " + strings.Join(events, "\n  ") + "\n")
	fmt.Fprintf(&b, "total %s\n", time.Since(began).Round(time.Second))
	t.Log("\n" + b.String())
	if *soakOut != "" {
		_ = os.MkdirAll(*soakOut, 0o755)
		_ = os.WriteFile(filepath.Join(*soakOut, "report.txt"), []byte(b.String()), 0o644)
		for _, p := range r.procs {
			if data, err := os.ReadFile(p.LogPath()); err == nil {
				_ = os.WriteFile(filepath.Join(*soakOut, p.Name()+".log"), data, 0o644)
			}
		}
		var sl bytes.Buffer
		for _, s := range sb.Sends() {
			fmt.Fprintf(&sl, "%s %s %s %s %s %s\n", s.Time.Format("15:04:05.000"), s.PageID, s.Kind, s.Target, s.RecipientID, s.MessageID)
		}
		_ = os.WriteFile(filepath.Join(*soakOut, "sends.txt"), sl.Bytes(), 0o644)
		var al bytes.Buffer
		tp.mu.Lock()
		for _, a := range tp.answers {
			fmt.Fprintf(&al, "%s page=%s %s %s status=%d code=%d sub=%d injected=%v\n", a.at.Format("15:04:05.000"), a.page, a.method, a.path, a.status, a.code, a.subcode, a.injected)
		}
		tp.mu.Unlock()
		_ = os.WriteFile(filepath.Join(*soakOut, "answers.txt"), al.Bytes(), 0o644)
		_ = os.WriteFile(filepath.Join(*soakOut, "reads.txt"), []byte(reads.log), 0o644)
		_ = os.WriteFile(filepath.Join(*soakOut, "reads_events.txt"), []byte(reads.events), 0o644)
		var nl bytes.Buffer
		for _, rf := range sb.AppNotLiveRefusals() {
			fmt.Fprintf(&nl, "%s %s %s %s\n", rf.Time.Format("15:04:05.000"), rf.PageID, rf.Kind, rf.Target)
		}
		_ = os.WriteFile(filepath.Join(*soakOut, "app_not_live.txt"), nl.Bytes(), 0o644)
	}
}

func head[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// soakWant sorts one comment or post: "" eligible, else the reason.
func soakWant(p soakPage, fromPage, canReply bool, created time.Time, msg string, now time.Time) (reason string, edge bool) {
	age := now.Sub(created)
	if age > window-time.Minute && age < window+time.Minute {
		return "", true
	}
	switch {
	case fromPage:
		return reasonOwn, false
	case !canReply:
		return reasonCannotReply, false
	case age >= window:
		return reasonTooOld, false
	case ruleRe.MatchString(msg), p.def:
		return "", false
	}
	return reasonNoRule, false
}

// soakItems lists the eligible comments and posts of a Page with their author.
func soakItems(sb *sandbox.Sandbox, p soakPage, now time.Time) (eligible map[string]string, other map[string]string) {
	eligible, other = map[string]string{}, map[string]string{}
	for _, c := range sb.AllComments(p.ID) {
		reason, edge := soakWant(p, c.FromPage, c.CanReplyPrivately, c.CreatedTime, c.Message, now)
		if edge {
			continue
		}
		if reason == "" {
			eligible[c.ID] = c.From.ID
		} else {
			other[c.ID] = reason
		}
	}
	for _, ps := range sb.Posts(p.ID) {
		if ps.FromPage {
			continue
		}
		reason, edge := soakWant(p, false, ps.CanReplyPrivately, ps.CreatedTime, ps.Message, now)
		if edge || ps.CreatedTime.Before(now.Add(-scanPosts+time.Minute)) {
			continue
		}
		if reason == "" {
			eligible[ps.ID] = ps.From.ID
		} else {
			other[ps.ID] = reason
		}
	}
	return eligible, other
}

// soakAccess is who the app may message: everyone, or with
// -soak.app-not-live only the people with a role on it.
type soakAccess struct {
	notLive bool
	testers map[string]bool
	seeded  int // people seeded, of whom len(testers) have a role
}

// refused reports whether the sandbox refuses a send to the person (2018028).
func (a soakAccess) refused(id string) bool { return a.notLive && !a.testers[id] }

// soakAppAccess makes the sandbox an app not live with -soak.app-not-live:
// the people with a role are -soak.app-testers, a share of the seeded
// people (chosen with the seed) or a list of ids.
func soakAppAccess(sb *sandbox.Sandbox) (soakAccess, error) {
	if !*soakNotLive {
		return soakAccess{}, nil
	}
	seen := map[string]bool{}
	for _, p := range sb.Pages() {
		for _, c := range sb.AllComments(p.ID) {
			if !c.FromPage {
				seen[c.From.ID] = true
			}
		}
		for _, ps := range sb.Posts(p.ID) {
			if !ps.FromPage {
				seen[ps.From.ID] = true
			}
		}
		for _, c := range sb.Conversations(p.ID) {
			seen[c.With.ID] = true
		}
	}
	people := slices.Sorted(maps.Keys(seen))
	a := soakAccess{notLive: true, testers: map[string]bool{}, seeded: len(people)}
	if share, err := strconv.ParseFloat(*soakTesters, 64); err == nil && share >= 0 && share <= 1 {
		rng := rand.New(rand.NewPCG(uint64(*soakSeed), 17))
		for _, id := range people {
			if rng.Float64() < share {
				a.testers[id] = true
			}
		}
	} else {
		for _, id := range strings.Split(*soakTesters, ",") {
			if id = strings.TrimSpace(id); id != "" {
				a.testers[id] = true
			}
		}
		if len(a.testers) == 0 {
			return a, fmt.Errorf("-soak.app-testers %q: neither a share (0 to 1) nor person ids", *soakTesters)
		}
	}
	sb.SetAppNotLive(true, slices.Sorted(maps.Keys(a.testers)))
	return a, nil
}

// notLiveRecord is the sandbox's record of its app-not-live refusals.
type notLiveRecord struct {
	items map[string]int         // comment or post id → refusals
	convs map[string][]time.Time // Page id + "/" + PSID → refusals of conversation replies
}

func notLiveRefusals(sb *sandbox.Sandbox) notLiveRecord {
	nl := notLiveRecord{items: map[string]int{}, convs: map[string][]time.Time{}}
	for _, rf := range sb.AppNotLiveRefusals() {
		if rf.Kind == sandbox.KindConversation {
			nl.convs[rf.PageID+"/"+rf.Target] = append(nl.convs[rf.PageID+"/"+rf.Target], rf.Time)
		} else {
			nl.items[rf.Target]++
		}
	}
	return nl
}

// convRefusedSince reports whether a conversation reply to the person was
// refused (app not live) at or after at.
func (nl notLiveRecord) convRefusedSince(page, psid string, at time.Time) bool {
	for _, rt := range nl.convs[page+"/"+psid] {
		if !rt.Before(at) {
			return true
		}
	}
	return false
}

// soakMissing lists the eligible items and conversations with no reply, nor,
// for a person without a role on an app not live, a refused one.
func soakMissing(sb *sandbox.Sandbox, pages []soakPage, access soakAccess, now time.Time) []string {
	var out []string
	nl := notLiveRefusals(sb)
	for _, p := range pages {
		elig, _ := soakItems(sb, p, now)
		if p.perPerson {
			by := map[string][]string{}
			for id, who := range elig {
				by[who] = append(by[who], id)
			}
			for who, ids := range by {
				n := 0
				for _, id := range ids {
					n += sb.SendCount(id)
					if access.refused(who) {
						n += nl.items[id]
					}
				}
				if n == 0 {
					out = append(out, "person:"+who+"@"+p.ID)
				}
			}
		} else {
			for id, who := range elig {
				if sb.SendCount(id) == 0 && (!access.refused(who) || nl.items[id] == 0) {
					out = append(out, id)
				}
			}
		}
		if p.conversing {
			out = append(out, convMissing(sb, p, access, nl, now)...)
		}
	}
	sort.Strings(out)
	return out
}

// convMissing: conversations whose last message is the person's, inside 24h,
// with no later reply (nor, for a person without a role, a refused one).
func convMissing(sb *sandbox.Sandbox, p soakPage, access soakAccess, nl notLiveRecord, now time.Time) []string {
	var out []string
	for _, c := range sb.Conversations(p.ID) {
		if len(c.Messages) == 0 {
			continue
		}
		msgs := slices.Clone(c.Messages)
		sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].CreatedTime.Before(msgs[j].CreatedTime) })
		last := msgs[len(msgs)-1]
		if last.FromPage {
			continue
		}
		age := now.Sub(last.CreatedTime)
		if age > 24*time.Hour-time.Minute {
			continue
		}
		if access.refused(c.With.ID) && nl.convRefusedSince(p.ID, c.With.ID, last.CreatedTime) {
			continue
		}
		out = append(out, "conv:"+c.ID)
	}
	return out
}

// soakCheck checks the sandbox's record and returns the report's lines.
func soakCheck(t *testing.T, r *rig, sb *sandbox.Sandbox, pages []soakPage, tp *tap, access soakAccess) string {
	var b strings.Builder
	now := time.Now()
	sends := sb.Sends()
	by := map[string][]sandbox.Send{}
	for _, s := range sends {
		by[s.Target] = append(by[s.Target], s)
		if access.refused(s.RecipientID) {
			t.Errorf("%s %s on Page %s sent to %s, who has no role on the app not live", s.Kind, s.Target, s.PageID, s.RecipientID)
		}
	}
	nl := notLiveRefusals(sb)
	// Refused people's items: how many Graph refused once, more than once
	// (a worker killed between Graph's answer and the ledger's mark tries
	// again), and which (app-not-live replies archived below).
	refusedOnce, refusedMore, refusedPeople := 0, 0, map[string]bool{}
	refusedItems := map[string]string{} // comment or post id → Page id
	second, wrong, missed, eligibleN := 0, 0, 0, 0
	for _, p := range pages {
		elig, other := soakItems(sb, p, now)
		eligibleN += len(elig)
		for id, reason := range other {
			if n := len(by[id]); n != 0 {
				wrong++
				t.Errorf("%s on Page %s (%s) got %d replies", id, p.ID, reason, n)
			}
			if n := nl.items[id]; n != 0 {
				wrong++
				t.Errorf("%s on Page %s (%s) was tried %d times (refused: app not live)", id, p.ID, reason, n)
			}
		}
		countRefused := func(id string) {
			switch n := nl.items[id]; {
			case n == 1:
				refusedOnce++
			case n > 1:
				refusedMore++
				t.Logf("%s on Page %s refused %d times (app not live):\n%s", id, p.ID, n, r.story(id, nil))
			}
			if nl.items[id] > 0 {
				refusedItems[id] = p.ID
			}
		}
		if p.perPerson {
			byWho := map[string][]string{}
			for id, who := range elig {
				byWho[who] = append(byWho[who], id)
			}
			for who, ids := range byWho {
				n, tried := 0, 0
				for _, id := range ids {
					n += len(by[id])
					tried += nl.items[id]
					if access.refused(who) {
						countRefused(id)
					}
				}
				if access.refused(who) {
					refusedPeople[who] = true
					if tried == 0 {
						missed++
						t.Errorf("person %s on Page %s (no role on the app) was never tried for %v", who, p.ID, ids)
					}
					continue
				}
				if n > 1 {
					second += n - 1
					t.Errorf("person %s on Page %s (one_reply_per_person) got %d replies over %v", who, p.ID, n, ids)
				} else if n == 0 {
					missed++
					t.Errorf("person %s on Page %s got no reply for %v", who, p.ID, ids)
				}
			}
		} else {
			for id, who := range elig {
				if access.refused(who) {
					refusedPeople[who] = true
					countRefused(id)
					if nl.items[id] == 0 {
						missed++
						t.Errorf("%s on Page %s (%s, no role on the app) was never tried\n%s", id, p.ID, who, r.story(id, nil))
					}
					continue
				}
				switch n := len(by[id]); {
				case n > 1:
					second += n - 1
					t.Errorf("%s on Page %s got %d replies\n%s", id, p.ID, n, r.story(id, by[id]))
				case n == 0:
					missed++
					t.Errorf("%s on Page %s got no reply\n%s", id, p.ID, r.story(id, nil))
				}
			}
		}
		if p.conversing {
			for _, c := range sb.Conversations(p.ID) {
				psid := c.With.ID
				var ss []sandbox.Send // the sandbox gives a person one id on every Page
				for _, s := range by[psid] {
					if s.PageID == p.ID && s.Kind == sandbox.KindConversation {
						ss = append(ss, s)
					}
				}
				sort.Slice(ss, func(i, j int) bool { return ss[i].Time.Before(ss[j].Time) })
				for i := 1; i < len(ss); i++ {
					ok := false
					for _, m := range c.Messages {
						if !m.FromPage && !m.CreatedTime.Before(ss[i-1].Time.Truncate(time.Second)) && !m.CreatedTime.After(ss[i].Time) {
							ok = true
						}
					}
					if !ok {
						second++
						t.Errorf("person %s (conversation %s, Page %s) got a second reply at %s with no message of theirs since the one at %s",
							psid, c.ID, p.ID, ss[i].Time.Format("15:04:05.000"), ss[i-1].Time.Format("15:04:05.000"))
					}
				}
			}
			if m := convMissing(sb, p, access, nl, now); len(m) > 0 {
				missed += len(m)
				t.Errorf("Page %s: conversations with no reply to the person's last message: %v", p.ID, m)
			}
		}
	}
	fmt.Fprintf(&b, "sends %d (comments/posts eligible %d); second replies %d; missed %d; replies to ineligible %d; sandbox Duplicates() %d; refused 10900 %d\n",
		len(sends), eligibleN, second, missed, wrong, sb.Duplicates(), sb.AlreadyRepliedCount())
	kinds := map[string]int{}
	for _, s := range sends {
		kinds[s.Kind]++
	}
	fmt.Fprintf(&b, "sends by kind: %v\n", kinds)
	if access.notLive {
		fmt.Fprintf(&b, "app not live: %d people have a role (%d people seeded); eligible comments/posts of people without one: %d people, %d items refused once, %d more than once (2018028 answers in all: %d)\n",
			len(access.testers), access.seeded, len(refusedPeople), refusedOnce, refusedMore, len(sb.AppNotLiveRefusals()))
		b.WriteString(soakArchived(t, r, sb, access, refusedItems))
	}
	b.WriteString(soakPauses(t, r))
	for _, rf := range sb.AlreadyReplied() {
		fmt.Fprintf(&b, "10900 refusal: %s at %s\n", rf.Target, rf.Time.Format("15:04:05.000"))
		t.Logf("10900 refusal %s:\n%s", rf.Target, r.story(rf.Target, by[rf.Target]))
	}
	if d := sb.Duplicates(); d != 0 {
		t.Errorf("sandbox Duplicates() = %d", d)
	}
	// A second may hold rate + burst sends, and rate × the length of the
	// stalls of this process (which serves the sandbox) around it more: a
	// second with no stall, no more (rig.checkRate).
	for _, p := range pages {
		c := r.checkRate(p.ID)
		if c.Over() {
			t.Errorf("Page %s: more sends in one second than rate %d/s burst %d allow: %s\n%s", p.ID, r.o.rate, r.o.burst, c, r.busiestSecond(p.ID))
		}
		fmt.Fprintf(&b, "page %s: max sends in 1s %d", p.ID, sb.MaxCallsIn(p.ID, time.Second))
		if len(c.Stalls) > 0 || c.Over() {
			fmt.Fprintf(&b, "; the second checked: %s", c)
		}
		b.WriteString("\n")
	}
	if st := sb.Stalls(time.Time{}, time.Now()); len(st) > 0 {
		var longest time.Duration
		for _, s := range st {
			longest = max(longest, s.Len())
		}
		fmt.Fprintf(&b, "stalls of the test's process (over %s late): %d, the longest %s\n", sandbox.StallLate, len(st), longest.Round(time.Millisecond))
	}
	// Throttle answers.
	tp.mu.Lock()
	defer tp.mu.Unlock()
	type key struct {
		code     int
		injected bool
	}
	tc := map[key]int{}
	other := map[string]int{}
	var self []answer
	for _, a := range tp.answers {
		switch a.code {
		case 80001, 80006, 613, 4, 32, 17:
			tc[key{a.code, a.injected}]++
			if !a.injected {
				self = append(self, a)
			}
		default:
			other[fmt.Sprintf("%d/%d (HTTP %d)", a.code, a.subcode, a.status)]++
		}
	}
	for k, n := range tc {
		fmt.Fprintf(&b, "throttle answers code %d injected=%v: %d\n", k.code, k.injected, n)
	}
	fmt.Fprintf(&b, "throttle answers by our pacing: %d\n", len(self))
	for _, a := range head(self, 20) {
		fmt.Fprintf(&b, "  self throttle: %s page %s %s %s code %d\n", a.at.Format("15:04:05.000"), a.page, a.method, a.path, a.code)
	}
	if len(self) > 0 {
		t.Errorf("%d throttle answers outside an injected throttle", len(self))
	}
	fmt.Fprintf(&b, "other error answers: %v\n", other)
	return b.String()
}

// notLiveReason reports whether a reply's error or a pause's reason is
// Graph's app-not-live refusal (10/2018028).
func notLiveReason(s string) bool {
	return strings.Contains(s, "2018028") || strings.Contains(s, "not admins, developers or testers")
}

// soakArchived accounts for the replies of an app not live in asynq's
// archive and the ledger: each comment or post Graph refused (refused, by
// id, its Page) is archived, once (a task id is its target), with Graph's
// reason; none archived so was a reply to someone with a role, or one Graph
// never refused; and each Page's ledger counts as failed what is archived
// of it. It returns the report's lines.
func soakArchived(t *testing.T, r *rig, sb *sandbox.Sandbox, access soakAccess, refused map[string]string) string {
	t.Helper()
	var b strings.Builder
	archived := r.archivedReplies(t)
	nl := notLiveRefusals(sb)
	type pw struct{ page, who string }
	msgs := map[string]pw{}
	for _, p := range r.pages {
		for _, c := range sb.Conversations(p.ID) {
			for _, m := range c.Messages {
				if !m.FromPage {
					msgs[m.ID] = pw{p.ID, c.With.ID}
				}
			}
		}
	}
	byPage, kinds, other := map[string]int{}, map[tasks.Kind]int{}, 0
	convPeople := map[pw]int{}
	for id, lastErr := range archived {
		tg, err := tasks.ParseTarget(id)
		if err != nil {
			t.Errorf("archived reply task %s: %v", id, err)
			continue
		}
		var at pw
		switch tg.Kind {
		case tasks.KindComment:
			c, _ := sb.Comment(tg.ID)
			at = pw{c.PageID, c.From.ID}
		case tasks.KindPost:
			ps, _ := sb.Post(tg.ID)
			at = pw{ps.PageID, ps.From.ID}
		case tasks.KindMessage:
			at = msgs[tg.ID]
			convPeople[at]++
		}
		byPage[at.page]++
		if !notLiveReason(lastErr) {
			other++
			t.Logf("reply %s archived, not for the app not live: %s", id, lastErr)
			continue
		}
		kinds[tg.Kind]++
		if !access.refused(at.who) {
			t.Errorf("reply %s to %s, who has a role on the app, archived as the app not live: %s", id, at.who, lastErr)
		}
		if tg.Kind != tasks.KindMessage && nl.items[tg.ID] == 0 {
			t.Errorf("reply %s archived as the app not live, but Graph never refused it: %s", id, lastErr)
		}
		if tg.Kind == tasks.KindMessage && len(nl.convs[at.page+"/"+at.who]) == 0 {
			t.Errorf("reply %s (%s on Page %s) archived as the app not live, but Graph never refused a reply to them: %s", id, at.who, at.page, lastErr)
		}
	}
	notArchived := 0
	for id, page := range refused {
		e, ok := archived["comment:"+id]
		if !ok {
			e, ok = archived["post:"+id]
		}
		if !ok || !notLiveReason(e) {
			notArchived++
			t.Errorf("%s on Page %s: Graph refused its reply (app not live), but it is not archived so (%q)\n%s", id, page, e, r.story(id, nil))
		}
	}
	st := r.status(t)
	for _, p := range r.pages {
		if st.failed[p.ID] != byPage[p.ID] {
			t.Errorf("Page %s: the ledger counts %d failed replies, %d are archived", p.ID, st.failed[p.ID], byPage[p.ID])
		}
	}
	fmt.Fprintf(&b, "archived replies: %d app not live (%v), %d other; refused comments/posts not archived: %d; conversation replies archived for %d people without a role; ledger failed by Page %v\n",
		len(archived)-other, kinds, other, notArchived, len(convPeople), st.failed)
	return b.String()
}

// soakPauses lists the Pages' pauses from the processes' logs ("page
// paused") and fails the test for one that an app-not-live refusal set: it
// fails one reply, never its Page.
func soakPauses(t *testing.T, r *rig) string {
	t.Helper()
	var b strings.Builder
	var lines []string
	for _, p := range r.procs {
		err := p.Lines(func(line []byte) bool {
			if !bytes.Contains(line, []byte(`"msg":"page paused"`)) {
				return true
			}
			var m struct {
				Time   time.Time `json:"time"`
				Page   string    `json:"page_id"`
				Paused string    `json:"paused_page_id"`
				Reason string    `json:"reason"`
				For    any       `json:"for"`
			}
			if err := json.Unmarshal(line, &m); err != nil {
				t.Errorf("%s: %v: %s", p.Name(), err, line)
				return true
			}
			page := m.Page
			if m.Paused != "" {
				page = m.Paused
			}
			if notLiveReason(m.Reason) {
				t.Errorf("%s: Page %s paused for an app-not-live refusal: %s", p.Name(), page, line)
			}
			d := fmt.Sprint(m.For)
			if f, ok := m.For.(float64); ok {
				d = time.Duration(f).Round(time.Millisecond).String()
			}
			lines = append(lines, fmt.Sprintf("  %s page %s for %s (%s): %.120s", m.Time.Format("15:04:05.000"), page, d, p.Name(), m.Reason))
			return true
		})
		if err != nil {
			t.Errorf("%s: %v", p.Name(), err)
		}
	}
	sort.Strings(lines)
	fmt.Fprintf(&b, "page pauses: %d\n", len(lines))
	for _, l := range head(lines, 30) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// soakEvent is one chaos event, when it began.
type soakEvent struct {
	at   time.Time
	text string
}

// soakReadLog is the report of the Pages' reads: its summary for the report,
// every read (reads.txt), and the busiest second around each chaos event
// (reads_events.txt).
type soakReadLog struct {
	summary, log, events string
}

// soakReads tells, from the sandbox's read log (sandbox.Options.LogReads),
// each Page's busiest second of reads per rate limit type (limit a
// second, the sandbox's ReadRate), the reads of the second before each
// throttle answer the soak did not inject, and the busiest second of each
// Page in the 20 seconds after each chaos event: enough to tell whether an
// 80001 came from a burst of pagereply's own reads.
func soakReads(sb *sandbox.Sandbox, pages []soakPage, tp *tap, evs []soakEvent, start time.Time, limit int) soakReadLog {
	var sum, log, ev strings.Builder
	rel := func(at time.Time) string { return fmt.Sprintf("+%.3fs", at.Sub(start).Seconds()) }
	types := []string{sandbox.UsageTypePages, sandbox.UsageTypeMessenger}
	byType := map[string]map[string][]time.Time{} // Page → type → times
	all := map[string][]sandbox.Read{}
	fmt.Fprintf(&sum, "reads (the sandbox's read limit: %d a second per Page and rate limit type; reads.txt has each):\n", limit)
	for _, p := range pages {
		rs := sb.Reads(p.ID)
		all[p.ID] = rs
		byType[p.ID] = map[string][]time.Time{}
		eps := map[string]int{}
		refused, forced := 0, 0
		for _, rd := range rs {
			byType[p.ID][rd.Type] = append(byType[p.ID][rd.Type], rd.Time)
			eps[rd.Endpoint]++
			if rd.Refused && rd.Forced {
				forced++
			} else if rd.Refused {
				refused++
			}
			fmt.Fprintf(&log, "%s %s page=%s type=%s %s refused=%v forced=%v\n", rd.Time.Format("15:04:05.000000"), rel(rd.Time), rd.PageID, rd.Type, rd.Endpoint, rd.Refused, rd.Forced)
		}
		fmt.Fprintf(&sum, "  page %s: %d reads %v; refused by its own rate %d, by an injected throttle %d", p.ID, len(rs), eps, refused, forced)
		for _, typ := range types {
			n, from := sb.MaxReadsIn(p.ID, typ, time.Second)
			if n > 0 {
				fmt.Fprintf(&sum, "; busiest second of %s: %d at %s", typ, n, rel(from))
			}
		}
		sum.WriteString("\n")
	}
	// The throttle answers the soak did not inject, each run of them (a gap
	// of 5 s starts another) with the reads of its type in the second before.
	tp.mu.Lock()
	last := map[string]time.Time{}
	var runs []answer
	for _, a := range tp.answers {
		if a.injected || (a.code != 80001 && a.code != 80006) {
			continue
		}
		k := fmt.Sprint(a.page, a.code)
		if l, ok := last[k]; !ok || a.at.Sub(l) > 5*time.Second {
			runs = append(runs, a)
		}
		last[k] = a.at
	}
	tp.mu.Unlock()
	// Every call the sandbox counted, of all Pages: a silence of them all
	// before a throttle is a stall (of the machine, or of the test process
	// that serves the sandbox), after which calls sent during it arrive
	// together.
	var every []time.Time
	for _, p := range pages {
		every = append(every, sb.CallLog(p.ID)...)
		for _, rd := range all[p.ID] {
			every = append(every, rd.Time)
		}
	}
	slices.SortFunc(every, func(x, y time.Time) int { return x.Compare(y) })
	for _, a := range runs {
		typ := sandbox.UsageTypePages
		if a.code == 80006 {
			typ = sandbox.UsageTypeMessenger
		}
		var before []string
		for _, rd := range all[a.page] {
			if rd.Type == typ && !rd.Time.After(a.at) && a.at.Sub(rd.Time) < time.Second {
				before = append(before, fmt.Sprintf("%s %s refused=%v", rel(rd.Time), rd.Endpoint, rd.Refused))
			}
		}
		sends := 0
		if typ == sandbox.UsageTypeMessenger { // sends count under the Messenger type too
			for _, at := range sb.CallLog(a.page) {
				if !at.After(a.at) && a.at.Sub(at) < time.Second {
					sends++
				}
			}
		}
		var gap time.Duration
		var gapEnd time.Time
		for i := 1; i < len(every); i++ {
			if every[i].After(a.at) || a.at.Sub(every[i]) > 5*time.Second {
				continue
			}
			if d := every[i].Sub(every[i-1]); d > gap {
				gap, gapEnd = d, every[i]
			}
		}
		stalls := "none"
		if st := sb.Stalls(a.at.Add(-5*time.Second), a.at); len(st) > 0 {
			var parts []string
			for _, s := range st {
				parts = append(parts, fmt.Sprintf("%s until %s", s.Len().Round(time.Millisecond), rel(s.End)))
			}
			stalls = strings.Join(parts, ", ")
		}
		fmt.Fprintf(&sum, "  throttle %d not injected, page %s at %s (%s %s): in the second before, %d send calls and %d reads of type %s: %s; the longest silence of every Page in the 5 s before: %s, until %s; stalls of the test's process then: %s\n",
			a.code, a.page, rel(a.at), a.method, a.path, sends, len(before), typ, strings.Join(before, ", "), gap.Round(time.Millisecond), rel(gapEnd), stalls)
	}
	busiest, busiestAt := 0, ""
	for _, e := range evs {
		fmt.Fprintf(&ev, "%s %s\n", rel(e.at), e.text)
		for _, p := range pages {
			fmt.Fprintf(&ev, "  page %s:", p.ID)
			for _, typ := range types {
				var in []time.Time
				for _, at := range byType[p.ID][typ] {
					if !at.Before(e.at) && at.Before(e.at.Add(20*time.Second)) {
						in = append(in, at)
					}
				}
				n, from := sandbox.MaxIn(in, time.Second)
				fmt.Fprintf(&ev, " %s %d reads in 20 s, busiest second %d", typ, len(in), n)
				if n > 0 {
					fmt.Fprintf(&ev, " at %s", rel(from))
				}
				if n > busiest {
					busiest, busiestAt = n, fmt.Sprintf("page %s, %s, at %s, after %q at %s", p.ID, typ, rel(from), e.text, rel(e.at))
				}
			}
			ev.WriteString("\n")
		}
	}
	if busiest > 0 {
		fmt.Fprintf(&sum, "  busiest second of reads within 20 s after a chaos event: %d (%s; reads_events.txt has each)\n", busiest, busiestAt)
	}
	return soakReadLog{summary: sum.String(), log: log.String(), events: ev.String()}
}
