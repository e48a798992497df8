// Package deploy_test checks the deployment files in deploy/ against the real
// pagereply binary: every command, flag, configuration key, port, probe and
// health check they use must exist in it and work. Docker, kubectl and
// kustomize are not needed: the manifests are parsed here, the configurations
// they carry are loaded with config.Parse, and the processes they describe are
// started against a test Redis and probed the way their supervisor would.
package deploy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
)

// binPath is the pagereply binary built by TestMain.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pagereply-deploy")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "pagereply")
	// Built as deploy/Dockerfile builds it (static, -trimpath), so that
	// TestDockerfile's build of the same sources is served by the build cache.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", binPath, "../cmd/pagereply")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliInfo is what `pagereply help` and `pagereply CMD -h` say.
type cliInfo struct {
	commands map[string]bool
	// flags[cmd][name] is true for a flag that takes a value, false for a bool flag.
	flags map[string]map[string]bool
	// stopBudget is the graceful stop time the role commands promise.
	stopBudget time.Duration
}

var (
	cliOnce sync.Once
	cli     *cliInfo
	cliErr  error
)

var (
	helpCommand = regexp.MustCompile(`(?m)^  ([a-z][a-z-]*) +\S`)
	helpFlag    = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9_-]*)(?: (\S+))?`)
	helpStop    = regexp.MustCompile(`stops within (\S+?)[:.\s]`)
)

// getCLI runs the binary's help once and parses it.
func getCLI(t *testing.T) *cliInfo {
	t.Helper()
	cliOnce.Do(func() { cli, cliErr = loadCLI() })
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cli
}

func loadCLI() (*cliInfo, error) {
	out, _, code := runBin(10*time.Second, nil, "help")
	if code != 0 {
		return nil, fmt.Errorf("pagereply help: exit %d", code)
	}
	info := &cliInfo{commands: map[string]bool{}, flags: map[string]map[string]bool{}}
	for _, m := range helpCommand.FindAllStringSubmatch(out, -1) {
		info.commands[m[1]] = true
	}
	for _, c := range []string{"serve", "api", "scheduler", "worker", "healthcheck", "version"} {
		if !info.commands[c] {
			return nil, fmt.Errorf("pagereply help does not list %q:\n%s", c, out)
		}
	}
	for c := range info.commands {
		help, _, code := runBin(10*time.Second, nil, c, "-h")
		if code != 0 {
			return nil, fmt.Errorf("pagereply %s -h: exit %d:\n%s", c, code, help)
		}
		info.flags[c] = map[string]bool{}
		for _, m := range helpFlag.FindAllStringSubmatch(help, -1) {
			info.flags[c][m[1]] = m[2] != ""
		}
		if c == "worker" {
			m := helpStop.FindStringSubmatch(help)
			if m == nil {
				return nil, fmt.Errorf("pagereply worker -h does not say how long a stop takes:\n%s", help)
			}
			d, err := time.ParseDuration(m[1])
			if err != nil {
				return nil, fmt.Errorf("pagereply worker -h: stop budget %q: %w", m[1], err)
			}
			info.stopBudget = d
		}
	}
	return info, nil
}

// runBin runs the binary to completion (killing it after timeout) with a clean
// environment plus env, and returns its stdout, stderr and exit code.
func runBin(timeout time.Duration, env map[string]string, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = processEnv(env)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = cmd.ProcessState.ExitCode()
	if err != nil && code == 0 {
		code = -1
	}
	return o.String(), e.String(), code
}

// processEnv is the test's environment without PAGEREPLY_* and without the
// variables a manifest sets, plus env.
func processEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PAGEREPLY_") {
			continue
		}
		if _, set := env[name]; set {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// checkArgs reports whether args (after the binary's name) is a command line
// pagereply accepts: a known command, known flags, a value for each flag that
// needs one, no stray argument. The binary itself has the last word: it parses
// the line with -h appended, which stops before running anything.
func (c *cliInfo) checkArgs(args []string) error {
	if len(args) == 0 {
		return errors.New("no pagereply command")
	}
	cmd := args[0]
	if !c.commands[cmd] {
		return fmt.Errorf("unknown command %q (pagereply help lists %s)", cmd, strings.Join(sortedKeys(c.commands), ", "))
	}
	flags := c.flags[cmd]
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			return fmt.Errorf("pagereply %s: unexpected argument %q", cmd, a)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "h" || name == "help" {
			continue
		}
		takesValue, ok := flags[name]
		if !ok {
			return fmt.Errorf("pagereply %s: unknown flag %q (pagereply %s -h lists %s)", cmd, a, cmd, strings.Join(sortedKeys(flags), ", "))
		}
		if takesValue && !hasValue {
			if i+1 >= len(args) {
				return fmt.Errorf("pagereply %s: flag %s needs a value", cmd, a)
			}
			i++
		}
	}
	_, stderr, code := runBin(10*time.Second, nil, append(slices.Clone(args), "-h")...)
	if code != 0 {
		return fmt.Errorf("pagereply %s rejects %q: exit %d: %s", cmd, strings.Join(args, " "), code, firstLine(stderr))
	}
	return nil
}

// flagValue returns the value of --name (or -name) in args.
func flagValue(args []string, name string) (string, bool) {
	for i := 1; i < len(args); i++ {
		n, v, has := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || n != name {
			continue
		}
		if has {
			return v, true
		}
		if i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// setFlag returns args with the value of --name replaced.
func setFlag(args []string, name, value string) []string {
	out := slices.Clone(args)
	for i := 1; i < len(out); i++ {
		n, _, has := strings.Cut(strings.TrimLeft(out[i], "-"), "=")
		if !strings.HasPrefix(out[i], "-") || n != name {
			continue
		}
		if has {
			out[i] = "--" + name + "=" + value
		} else if i+1 < len(out) {
			out[i+1] = value
		}
	}
	return out
}

// unit is one pagereply process a manifest runs, and what the manifest says
// about it.
type unit struct {
	// where names the manifest and the object, for messages.
	where string
	// args is the command line after the binary.
	args []string
	// env is the process's environment as the manifest gives it; values of
	// secrets are the manifests' fake examples.
	env map[string]string
	// files maps a path in the process's file system (a mount, an installed
	// file) to the file in this repository it comes from.
	files map[string]string
	// probes are the HTTP GETs its supervisor makes.
	probes []probe
	// checks are exec health checks: pagereply command lines.
	checks [][]string
	// grace is the time its supervisor allows from the start of a stop to
	// SIGKILL: from SIGTERM, or for Kubernetes from the start of the preStop
	// hook, which comes first.
	grace time.Duration
	// preStop is the sleep of its preStop hook (Kubernetes): the pod keeps
	// serving while the endpoint removal reaches every Service proxy and load
	// balancer, then gets SIGTERM. It is spent out of grace.
	preStop time.Duration
	// services are the Services that send it requests (Kubernetes).
	services []string
}

// endpointDrain is the least preStop sleep of a pod that Services send
// requests to. Kubernetes removes a terminating pod from the Services'
// endpoints and sends it SIGTERM at the same time; the removal reaches
// kube-proxy on every node, and load balancers, seconds later, and until
// then they keep routing new connections to the pod, which would refuse
// them once pagereply has closed its listener.
const endpointDrain = 5 * time.Second

// sigtermToKill is the time between SIGTERM and SIGKILL.
func (u unit) sigtermToKill() time.Duration { return u.grace - u.preStop }

// probe is an HTTP GET on a port of the process.
type probe struct {
	what string
	port int
	path string
}

// roles returns the roles the command line runs.
func (u unit) roles() map[string]bool {
	switch u.args[0] {
	case "api", "scheduler", "worker":
		return map[string]bool{u.args[0]: true}
	case "serve":
		r := map[string]bool{}
		list, ok := flagValue(u.args, "roles")
		if !ok {
			list = "scheduler,worker,api"
		}
		for _, s := range strings.Split(list, ",") {
			r[strings.TrimSpace(s)] = true
		}
		return r
	}
	return nil
}

// ownSecret stands in for one of the examples' FAKE- secrets, which
// pagereply refuses (config.Placeholder), as a user puts their own: the
// manifests' wiring is under test, not the values.
func ownSecret(name, v string) string {
	if config.Placeholder(v) {
		return "own-" + strings.ToLower(name) + "-0123456789abcdef"
	}
	// A dummy inside a value: the Kubernetes example's REDIS_URL password.
	return strings.ReplaceAll(v, "FAKE-", "own-")
}

// configPath returns the configuration file the process reads: -c, else
// PAGEREPLY_CONFIG.
func (u unit) configPath() string {
	if p, ok := flagValue(u.args, "c"); ok {
		return p
	}
	return u.env["PAGEREPLY_CONFIG"]
}

// loadConfig returns the unit's configuration file and its parsed form, with
// ${VAR} taken from the unit's environment.
func (u unit) loadConfig() ([]byte, *config.Config, error) {
	path := u.configPath()
	if path == "" {
		return nil, nil, errors.New("no configuration: neither -c nor PAGEREPLY_CONFIG")
	}
	local, ok := u.files[path]
	if !ok {
		return nil, nil, fmt.Errorf("configuration %s is not mounted or installed from a file in deploy/", path)
	}
	data, err := os.ReadFile(local)
	if err != nil {
		return nil, nil, fmt.Errorf("configuration %s: %w", path, err)
	}
	cfg, err := config.Parse(data, func(name string) (string, bool) {
		v, ok := u.env[name]
		return ownSecret(name, v), ok
	})
	if err != nil {
		return data, nil, fmt.Errorf("configuration %s (from %s) with the manifest's environment: %w", path, local, err)
	}
	return data, cfg, nil
}

// listenPorts returns the ports the process listens on, with what each is.
func (u unit) listenPorts(cfg *config.Config) (map[int]string, error) {
	ports := map[int]string{}
	var errs []error
	add := func(addr, what string) {
		_, p, err := net.SplitHostPort(addr)
		n, err2 := strconv.Atoi(p)
		if err != nil || err2 != nil {
			errs = append(errs, fmt.Errorf("%s %q is not host:port", what, addr))
			return
		}
		if prev, dup := ports[n]; dup {
			errs = append(errs, fmt.Errorf("%s and %s both use port %d", prev, what, n))
		}
		ports[n] = what
	}
	if u.roles()["api"] {
		add(cfg.API.Addr, "api.addr")
	}
	if a, ok := flagValue(u.args, "health-addr"); ok && a != "" {
		add(a, "--health-addr")
	}
	return ports, errors.Join(errs...)
}

// check checks the unit against the binary without starting it.
func (u unit) check(c *cliInfo) error {
	var errs []error
	fail := func(err error) { errs = append(errs, fmt.Errorf("%s: %w", u.where, err)) }
	if err := c.checkArgs(u.args); err != nil {
		fail(err)
		return errors.Join(errs...)
	}
	if u.roles() == nil {
		fail(fmt.Errorf("pagereply %s runs no role", u.args[0]))
		return errors.Join(errs...)
	}
	_, cfg, err := u.loadConfig()
	if err != nil {
		fail(err)
		return errors.Join(errs...)
	}
	ports, err := u.listenPorts(cfg)
	if err != nil {
		fail(err)
	}
	for _, p := range u.probes {
		if _, ok := ports[p.port]; !ok {
			fail(fmt.Errorf("%s probes port %d, where pagereply %s does not listen (it listens on %v)", p.what, p.port, u.args[0], ports))
		}
		if !strings.HasPrefix(p.path, "/") {
			fail(fmt.Errorf("%s probes path %q", p.what, p.path))
		}
	}
	for _, hc := range u.checks {
		if err := c.checkArgs(hc); err != nil {
			fail(fmt.Errorf("health check: %w", err))
			continue
		}
		if hc[0] != "healthcheck" {
			continue
		}
		raw, ok := flagValue(hc, "url")
		if !ok {
			raw = "http://127.0.0.1:8080/healthz" // the command's default
		}
		hu, err := url.Parse(raw)
		if err != nil {
			fail(fmt.Errorf("health check URL %q: %w", raw, err))
			continue
		}
		port, _ := strconv.Atoi(hu.Port())
		if _, ok := ports[port]; !ok {
			fail(fmt.Errorf("health check %s: pagereply %s does not listen on port %d (it listens on %v)", raw, u.args[0], port, ports))
		}
		if h := hu.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			fail(fmt.Errorf("health check %s: runs beside the process, so it must probe loopback", raw))
		}
	}
	if u.sigtermToKill() < c.stopBudget {
		msg := fmt.Sprintf("allows %s between SIGTERM and SIGKILL", u.sigtermToKill())
		if u.preStop > 0 {
			msg += fmt.Sprintf(" (a grace period of %s less a preStop sleep of %s)", u.grace, u.preStop)
		}
		fail(fmt.Errorf("%s; pagereply %s may take %s to stop gracefully", msg, u.args[0], c.stopBudget))
	}
	if len(u.services) > 0 && u.preStop < endpointDrain {
		fail(fmt.Errorf("Service %s sends it requests, but its preStop sleep is %s: on SIGTERM pagereply closes its listener while Service proxies still route to the pod for a few seconds (connection refused on every rollout); set lifecycle.preStop.sleep.seconds to %d or more, and terminationGracePeriodSeconds to cover it plus %s",
			strings.Join(u.services, ", "), u.preStop, int(endpointDrain/time.Second), c.stopBudget))
	}
	return errors.Join(errs...)
}

// liveEnv is what started units run against: a Redis database and a Graph
// API stub, never Meta's.
type liveEnv struct {
	redisURL string
	graphURL string
}

func newLiveEnv(t *testing.T) *liveEnv {
	t.Helper()
	db := redistest.New(t)
	// The Graph stub: an empty feed, no conversations, and a refusal for any send.
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"message":"stub: no sends","type":"OAuthException","code":100}}`)
			return
		}
		_, _ = io.WriteString(w, `{"data":[],"paging":{}}`)
	}))
	t.Cleanup(graph.Close)
	return &liveEnv{redisURL: db.URL(), graphURL: graph.URL}
}

// started is a unit's process, running against a liveEnv.
type started struct {
	cmd            *exec.Cmd
	stdout, stderr *proctest.Buffer
	done           chan struct{}
	// addrs maps a port of the manifest to the address the process really
	// listens on.
	addrs map[int]string
}

// start starts u with its configuration rewritten to run here: Redis and
// Graph from le, listening addresses on free loopback ports.
func (le *liveEnv) start(t *testing.T, u unit) (*started, error) {
	t.Helper()
	data, cfg, err := u.loadConfig()
	if err != nil {
		return nil, err
	}
	ports, err := u.listenPorts(cfg)
	if err != nil {
		return nil, err
	}
	s := &started{stdout: &proctest.Buffer{}, stderr: &proctest.Buffer{}, done: make(chan struct{}), addrs: map[int]string{}}
	args := slices.Clone(u.args)
	apiAddr := freeAddr(t)
	for port, what := range ports {
		switch what {
		case "api.addr":
			s.addrs[port] = apiAddr
		case "--health-addr":
			s.addrs[port] = freeAddr(t)
			args = setFlag(args, "health-addr", s.addrs[port])
		}
	}
	live, err := rewriteConfig(data, map[string]string{"redis": le.redisURL, "graph.base_url": le.graphURL, "api.addr": apiAddr})
	if err != nil {
		return nil, err
	}
	cfgFile := filepath.Join(t.TempDir(), "pagereply.yaml")
	if err := os.WriteFile(cfgFile, live, 0o600); err != nil {
		return nil, err
	}
	env := map[string]string{}
	for k, v := range u.env {
		env[k] = ownSecret(k, v)
	}
	if _, ok := flagValue(args, "c"); ok {
		args = setFlag(args, "c", cfgFile)
	} else {
		env["PAGEREPLY_CONFIG"] = cfgFile
	}
	s.cmd = exec.Command(binPath, args...)
	s.cmd.Env = processEnv(env)
	s.cmd.Stdout, s.cmd.Stderr = s.stdout, s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start pagereply %s: %w", args[0], err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s, nil
}

// rewriteConfig returns the YAML configuration with some values replaced:
// "redis" replaces the whole redis section by {url: value}; other keys are
// dotted paths to scalars, created when absent.
func rewriteConfig(data []byte, set map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("rewrite config: %w", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("rewrite config: not a mapping")
	}
	root := doc.Content[0]
	for path, value := range set {
		keys := strings.Split(path, ".")
		if path == "redis" {
			m := &yaml.Node{Kind: yaml.MappingNode}
			m.Content = []*yaml.Node{scalar("url"), scalar(value)}
			setKey(root, "redis", m)
			continue
		}
		node := root
		for _, k := range keys[:len(keys)-1] {
			child := getKey(node, k)
			if child == nil || child.Kind != yaml.MappingNode {
				child = &yaml.Node{Kind: yaml.MappingNode}
				setKey(node, k, child)
			}
			node = child
		}
		setKey(node, keys[len(keys)-1], scalar(value))
	}
	return yaml.Marshal(&doc)
}

func scalar(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func getKey(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

// probeOK GETs a probe on a started unit and reports an answer other than 2xx.
func (s *started) probeOK(p probe) error {
	addr, ok := s.addrs[p.port]
	if !ok {
		return fmt.Errorf("%s: nothing listens on port %d", p.what, p.port)
	}
	c := &http.Client{Timeout: 3 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get("http://" + addr + p.path)
	if err != nil {
		return fmt.Errorf("%s: GET %s: %w", p.what, p.path, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: GET %s: %s %s", p.what, p.path, resp.Status, firstLine(string(body)))
	}
	return nil
}

// scrape returns the body of /metrics on a port of a started unit.
func (s *started) scrape(port int) (string, error) {
	resp, err := http.Get("http://" + s.addrs[port] + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return string(b), err
}

// runLive starts u, waits until every probe answers 2xx, runs its health
// checks, scrapes /metrics on every port it listens on, then stops it with
// SIGTERM and expects a clean exit before its SIGKILL. The secrets of
// its configuration must appear in none of its output.
func (le *liveEnv) runLive(t *testing.T, u unit) {
	t.Helper()
	s, err := le.start(t, u)
	if err != nil {
		t.Fatalf("%s: %v", u.where, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, p := range u.probes {
		for {
			err := s.probeOK(p)
			if err == nil {
				break
			}
			select {
			case <-s.done:
				t.Fatalf("%s: pagereply %s exited: %v\nstderr:\n%s", u.where, u.args[0], s.cmd.ProcessState, s.stderr)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v\nstderr:\n%s", u.where, err, s.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Health checks are retried until they pass, as their supervisor does
	// during a start period.
	for _, hc := range u.checks {
		args := slices.Clone(hc)
		if raw, ok := flagValue(args, "url"); ok {
			hu, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("%s: health check URL %q: %v", u.where, raw, err)
			}
			port, _ := strconv.Atoi(hu.Port())
			hu.Host = s.addrs[port]
			args = setFlag(args, "url", hu.String())
		}
		for {
			out, errOut, code := runBin(10*time.Second, nil, args...)
			if code == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: health check %v: exit %d: %s%s\nstderr:\n%s", u.where, hc, code, out, errOut, s.stderr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for port := range s.addrs {
		if _, err := s.scrape(port); err != nil {
			t.Errorf("%s: port %d: %v", u.where, port, err)
		}
	}

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("%s: exit %d after SIGTERM\nstderr:\n%s", u.where, code, s.stderr)
		}
	case <-time.After(u.sigtermToKill()):
		t.Errorf("%s: still running %s after SIGTERM: its supervisor would SIGKILL it", u.where, u.sigtermToKill())
	}
	_, cfg, _ := u.loadConfig()
	for _, secret := range cfg.Secrets() {
		if secret != "" && (strings.Contains(s.stderr.String(), secret) || strings.Contains(s.stdout.String(), secret)) {
			t.Errorf("%s: a secret of the configuration appears in the output", u.where)
		}
	}
}

// checkUnits checks every unit statically, then runs them all at once against
// one Redis (they are one deployment) and probes them.
func checkUnits(t *testing.T, units []unit) {
	t.Helper()
	c := getCLI(t)
	if len(units) == 0 {
		t.Fatal("no pagereply process found in the manifests")
	}
	for _, u := range units {
		if err := u.check(c); err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	le := newLiveEnv(t)
	t.Run("live", func(t *testing.T) {
		for _, u := range units {
			t.Run(u.where, func(t *testing.T) {
				t.Parallel()
				le.runLive(t, u)
			})
		}
	})
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

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// readYAMLDocs reads every YAML document of a file.
func readYAMLDocs(path string) ([]map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []map[string]any
	dec := yaml.NewDecoder(f)
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// Accessors for decoded YAML.

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// dig follows keys through nested maps.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		v = mapOf(v)[k]
	}
	return v
}

func stringList(v any) []string {
	var out []string
	for _, x := range listOf(v) {
		out = append(out, str(x))
	}
	return out
}
