package deploy_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readEnvFile reads NAME=value lines (# comments, blank lines), as Docker
// Compose's .env and systemd's EnvironmentFile= both write them.
func readEnvFile(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k) {
			return nil, fmt.Errorf("%s:%d: not NAME=value", file, n)
		}
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env, sc.Err()
}

var composeVar = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate expands a string as Docker Compose does: ${VAR}, ${VAR:-default},
// ${VAR-default}, ${VAR:?error}, ${VAR?error}, $VAR and $$. A variable that
// is unset (not in env) without a default is an error here: everything the
// file needs must be in .env.example.
func interpolate(s string, env map[string]string) (string, error) {
	var errs []error
	out := composeVar.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sm := composeVar.FindStringSubmatch(m)
		name, op, arg := sm[1], sm[2], sm[3]
		if name == "" {
			name = sm[4]
		}
		v, set := env[name]
		switch op {
		case ":-":
			if v == "" {
				return arg
			}
		case "-":
			if !set {
				return arg
			}
		case ":?":
			if v == "" {
				errs = append(errs, fmt.Errorf("${%s} is unset or empty: %s", name, arg))
			}
		case "?":
			if !set {
				errs = append(errs, fmt.Errorf("${%s} is unset: %s", name, arg))
			}
		default:
			if !set {
				errs = append(errs, fmt.Errorf("${%s} is unset and has no default", name))
			}
		}
		return v
	})
	return out, errors.Join(errs...)
}

// interpolateAll expands every string of a decoded YAML document.
func interpolateAll(v any, env map[string]string) (any, error) {
	switch x := v.(type) {
	case string:
		return interpolate(x, env)
	case map[string]any:
		var errs []error
		for k, e := range x {
			var err error
			x[k], err = interpolateAll(e, env)
			errs = append(errs, err)
		}
		return x, errors.Join(errs...)
	case []any:
		var errs []error
		for i, e := range x {
			var err error
			x[i], err = interpolateAll(e, env)
			errs = append(errs, err)
		}
		return x, errors.Join(errs...)
	}
	return v, nil
}

// compose is deploy/compose.yaml, interpolated with deploy/.env.example.
type compose struct {
	doc      map[string]any
	services map[string]map[string]any
}

func loadCompose(t *testing.T) *compose {
	t.Helper()
	docs, err := readYAMLDocs("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: %d documents, want 1", len(docs))
	}
	env, err := readEnvFile(".env.example")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := interpolateAll(docs[0], env)
	if err != nil {
		t.Fatalf("compose.yaml with .env.example: %v", err)
	}
	c := &compose{doc: doc.(map[string]any), services: map[string]map[string]any{}}
	for name, s := range mapOf(c.doc["services"]) {
		c.services[name] = mapOf(s)
	}
	return c
}

// composeEnv returns a service's environment (map or NAME=value list).
func composeEnv(svc map[string]any) map[string]string {
	env := map[string]string{}
	switch e := svc["environment"].(type) {
	case map[string]any:
		for k, v := range e {
			env[k] = str(v)
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(str(kv), "=")
			env[k] = v
		}
	}
	return env
}

// composeMount is a bind mount or volume of a service.
type composeMount struct {
	source, target string
	bind           bool
}

func composeMounts(svc map[string]any) []composeMount {
	var out []composeMount
	for _, v := range listOf(svc["volumes"]) {
		switch x := v.(type) {
		case string:
			parts := strings.Split(x, ":")
			if len(parts) >= 2 {
				out = append(out, composeMount{source: parts[0], target: parts[1],
					bind: strings.HasPrefix(parts[0], ".") || strings.HasPrefix(parts[0], "/")})
			}
		case map[string]any:
			out = append(out, composeMount{source: str(x["source"]), target: str(x["target"]), bind: str(x["type"]) == "bind"})
		}
	}
	return out
}

// commandOf returns a compose command (list or string).
func commandOf(v any) []string {
	if s, ok := v.(string); ok {
		return shellWords(s)
	}
	return stringList(v)
}

// composeUnits returns the pagereply processes of compose.yaml.
func composeUnits(t *testing.T) []unit {
	t.Helper()
	c := loadCompose(t)
	img := dockerImage(t)
	var units []unit
	for _, name := range sortedKeys(c.services) {
		svc := c.services[name]
		if str(dig(svc, "build", "dockerfile")) == "" {
			continue // not built from deploy/Dockerfile: not pagereply
		}
		u := unit{where: "compose service " + name, env: map[string]string{}, files: map[string]string{}}
		for k, v := range img.env {
			u.env[k] = v
		}
		for k, v := range composeEnv(svc) {
			u.env[k] = v
		}
		entry := img.entrypoint
		if e, ok := svc["entrypoint"]; ok {
			entry = commandOf(e)
		}
		cmd := img.cmd
		if cv, ok := svc["command"]; ok {
			cmd = commandOf(cv)
		}
		if len(entry) != 1 || len(img.entrypoint) != 1 || entry[0] != img.entrypoint[0] {
			t.Errorf("%s: entrypoint %v is not the image's binary %v", u.where, entry, img.entrypoint)
		}
		u.args = cmd
		for _, m := range composeMounts(svc) {
			if m.bind {
				u.files[m.target] = filepath.Clean(m.source)
			}
		}
		hc := commandOf(dig(svc, "healthcheck", "test"))
		switch {
		case len(hc) >= 3 && hc[0] == "CMD" && len(img.entrypoint) == 1 && hc[1] == img.entrypoint[0]:
			u.checks = append(u.checks, hc[2:])
		default:
			t.Errorf("%s: healthcheck %v: want [CMD, %v, healthcheck, ...] (the image has no shell)", u.where, hc, img.entrypoint)
		}
		grace := 10 * time.Second // Docker's default
		if g := str(svc["stop_grace_period"]); g != "" {
			d, err := time.ParseDuration(g)
			if err != nil {
				t.Errorf("%s: stop_grace_period %q: %v", u.where, g, err)
			}
			grace = d
		}
		u.grace = grace
		if s := str(svc["stop_signal"]); s != "" && s != "SIGTERM" {
			t.Errorf("%s: stop_signal %s: pagereply stops gracefully on SIGTERM", u.where, s)
		}
		units = append(units, u)
	}
	return units
}

// TestCompose checks deploy/compose.yaml: Redis with deploy/redis/redis.conf,
// persistence and a health check; api, scheduler and worker running their role
// commands with the image's binary, a configuration whose ${VAR}s the
// environment provides, health checks the binary answers, ports they listen
// on, and a stop grace period long enough. Then it runs them.
func TestCompose(t *testing.T) {
	c := loadCompose(t)
	units := composeUnits(t)

	roles := map[string]bool{}
	for _, u := range units {
		roles[u.args[0]] = true
	}
	for _, r := range []string{"api", "scheduler", "worker"} {
		if !roles[r] {
			t.Errorf("no compose service runs pagereply %s", r)
		}
	}

	// Redis.
	redis, ok := c.services["redis"]
	if !ok {
		t.Fatal("no redis service")
	}
	cmd := commandOf(redis["command"])
	if len(cmd) < 2 || cmd[0] != "redis-server" {
		t.Errorf("redis command %v: want redis-server CONFIG", cmd)
	} else {
		mounted := false
		for _, m := range composeMounts(redis) {
			if m.target == cmd[1] {
				mounted = true
				if filepath.Clean(m.source) != filepath.Join("redis", "redis.conf") {
					t.Errorf("redis config %s comes from %s, want ./redis/redis.conf", cmd[1], m.source)
				}
			}
		}
		if !mounted {
			t.Errorf("redis-server reads %s, which no volume mounts", cmd[1])
		}
	}
	dataVolume := false
	for _, m := range composeMounts(redis) {
		if m.target == "/data" && !m.bind {
			dataVolume = true
			if _, ok := mapOf(c.doc["volumes"])[m.source]; !ok {
				t.Errorf("redis volume %s is not declared under volumes:", m.source)
			}
		}
	}
	if !dataVolume {
		t.Error("redis keeps /data (its AOF) on no named volume")
	}
	if hc := strings.Join(commandOf(dig(redis, "healthcheck", "test")), " "); !strings.Contains(hc, "redis-cli ping") {
		t.Errorf("redis healthcheck %q: want redis-cli ping", hc)
	}

	for _, name := range sortedKeys(c.services) {
		svc := c.services[name]
		where := "compose service " + name
		if r := str(svc["restart"]); r != "unless-stopped" && r != "always" && !strings.HasPrefix(r, "on-failure") {
			t.Errorf("%s: restart %q: want a restart policy", where, r)
		}
		for _, m := range composeMounts(svc) {
			if m.bind {
				if _, err := os.Stat(m.source); err != nil {
					t.Errorf("%s: mounts %s, which is not in deploy/: %v", where, m.source, err)
				}
			}
		}
		if b := mapOf(svc["build"]); b != nil {
			df := filepath.Join(str(b["context"]), str(b["dockerfile"]))
			if abs, _ := filepath.Abs(df); abs != mustAbs(t, "Dockerfile") {
				t.Errorf("%s: builds %s, want deploy/Dockerfile", where, df)
			}
		}
		if name == "redis" {
			continue
		}
		dep := mapOf(dig(svc, "depends_on", "redis"))
		if str(dep["condition"]) != "service_healthy" {
			t.Errorf("%s: depends_on redis without condition: service_healthy", where)
		}
	}

	// Published ports are ports the service listens on.
	for _, u := range units {
		name := strings.TrimPrefix(u.where, "compose service ")
		_, cfg, err := u.loadConfig()
		if err != nil {
			continue // reported by checkUnits
		}
		ports, _ := u.listenPorts(cfg)
		for _, p := range stringList(c.services[name]["ports"]) {
			parts := strings.Split(p, ":")
			n, err := strconv.Atoi(strings.TrimSuffix(parts[len(parts)-1], "/tcp"))
			if _, ok := ports[n]; err != nil || !ok {
				t.Errorf("%s: publishes %s, but listens on %v", u.where, p, ports)
			}
		}
	}
	if r, ok := dig(c.services["worker"], "deploy", "replicas").(int); !ok || r < 1 {
		t.Errorf("worker deploy.replicas = %v, want a count", dig(c.services["worker"], "deploy", "replicas"))
	}

	checkUnits(t, units)
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestComposeInterpolation proves the interpolation used above fails where
// Compose does.
func TestComposeInterpolation(t *testing.T) {
	env := map[string]string{"SET": "v", "EMPTY": ""}
	cases := []struct {
		in, want string
		fails    bool
	}{
		{"${SET}", "v", false},
		{"$SET/x", "v/x", false},
		{"$$SET", "$SET", false},
		{"${UNSET:-d}", "d", false},
		{"${EMPTY:-d}", "d", false},
		{"${EMPTY-d}", "", false},
		{"${SET:?must}", "v", false},
		{"${EMPTY:?must}", "", true},
		{"${UNSET?must}", "", true},
		{"${UNSET}", "", true},
	}
	for _, tc := range cases {
		got, err := interpolate(tc.in, env)
		if (err != nil) != tc.fails || (!tc.fails && got != tc.want) {
			t.Errorf("interpolate(%q) = %q, %v; want %q, fails %v", tc.in, got, err, tc.want, tc.fails)
		}
	}
}
