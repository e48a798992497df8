package deploy_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// systemdInstall is where deploy/README.md installs each file of
// deploy/systemd, and so what the units' paths refer to.
var systemdInstall = map[string]string{
	"/usr/local/bin/pagereply":      "", // the binary
	"/etc/pagereply/pagereply.yaml": "systemd/pagereply.yaml",
	"/etc/pagereply/pagereply.env":  "systemd/pagereply.env.example",
}

// unitFile is a systemd unit file: sections of key=value lines, keys repeatable.
type unitFile struct {
	file     string
	sections map[string][][2]string
}

func parseUnitFile(file string) (*unitFile, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	u := &unitFile{file: file, sections: map[string][][2]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	var cont strings.Builder
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cont.Len() == 0 && (line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont.WriteString(strings.TrimSuffix(line, "\\") + " ")
			continue
		}
		cont.WriteString(line)
		line = cont.String()
		cont.Reset()
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = line[1 : len(line)-1]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || section == "" {
			return nil, fmt.Errorf("%s:%d: not key=value in a section", file, n)
		}
		u.sections[section] = append(u.sections[section], [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return u, sc.Err()
}

// values returns every value of key in section.
func (u *unitFile) values(section, key string) []string {
	var out []string
	for _, kv := range u.sections[section] {
		if kv[0] == key {
			out = append(out, kv[1])
		}
	}
	return out
}

// value returns the last value of key in section.
func (u *unitFile) value(section, key string) string {
	v := u.values(section, key)
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// parseTimespan parses a systemd time span: "45", "45s", "1min 30s", "2m".
func parseTimespan(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	re := regexp.MustCompile(`(\d+)\s*(ms|msec|s|sec|seconds?|m|min|minutes?|h|hr|hours?)\s*`)
	rest := strings.TrimSpace(s)
	var d time.Duration
	for rest != "" {
		m := re.FindStringSubmatchIndex(rest)
		if m == nil || m[0] != 0 {
			return 0, fmt.Errorf("time span %q", s)
		}
		n, _ := strconv.Atoi(rest[m[2]:m[3]])
		unit := map[string]time.Duration{"ms": time.Millisecond, "msec": time.Millisecond, "s": time.Second, "sec": time.Second,
			"second": time.Second, "seconds": time.Second, "m": time.Minute, "min": time.Minute, "minute": time.Minute,
			"minutes": time.Minute, "h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour}[rest[m[4]:m[5]]]
		d += time.Duration(n) * unit
		rest = rest[m[1]:]
	}
	return d, nil
}

// systemdUnits returns the pagereply processes of deploy/systemd/*.service.
func systemdUnits(t *testing.T) ([]unit, []*unitFile) {
	t.Helper()
	files, err := filepath.Glob("systemd/*.service")
	if err != nil || len(files) == 0 {
		t.Fatalf("no systemd units in deploy/systemd: %v", err)
	}
	var units []unit
	var parsed []*unitFile
	for _, file := range files {
		uf, err := parseUnitFile(file)
		if err != nil {
			t.Error(err)
			continue
		}
		parsed = append(parsed, uf)
		u := unit{where: "systemd " + filepath.Base(file), env: map[string]string{}, files: map[string]string{}}
		for p, local := range systemdInstall {
			if local != "" {
				u.files[p] = local
			}
		}
		exe := uf.values("Service", "ExecStart")
		if len(exe) != 1 {
			t.Errorf("%s: %d ExecStart lines, want 1", u.where, len(exe))
			continue
		}
		words := shellWords(strings.TrimLeft(exe[0], "-@+!:"))
		if len(words) == 0 || words[0] != "/usr/local/bin/pagereply" {
			t.Errorf("%s: ExecStart %q does not run /usr/local/bin/pagereply (where deploy/README.md installs it)", u.where, exe[0])
			continue
		}
		u.args = words[1:]
		for _, ef := range uf.values("Service", "EnvironmentFile") {
			ef = strings.TrimPrefix(ef, "-")
			local, ok := systemdInstall[ef]
			if !ok || local == "" {
				t.Errorf("%s: EnvironmentFile %s is not a file deploy/README.md installs", u.where, ef)
				continue
			}
			env, err := readEnvFile(local)
			if err != nil {
				t.Errorf("%s: %v", u.where, err)
			}
			for k, v := range env {
				u.env[k] = v
			}
		}
		for _, e := range uf.values("Service", "Environment") {
			for _, kv := range shellWords(e) {
				k, v, _ := strings.Cut(kv, "=")
				u.env[k] = v
			}
		}
		u.grace = 90 * time.Second // systemd's DefaultTimeoutStopSec
		if s := uf.value("Service", "TimeoutStopSec"); s != "" {
			if u.grace, err = parseTimespan(s); err != nil {
				t.Errorf("%s: TimeoutStopSec: %v", u.where, err)
			}
		}
		// Operators (and the README) probe both routes on every port it listens on.
		if _, cfg, err := u.loadConfig(); err == nil {
			ports, _ := u.listenPorts(cfg)
			for p := range ports {
				u.probes = append(u.probes, probe{what: "healthz", port: p, path: "/healthz"}, probe{what: "readyz", port: p, path: "/readyz"})
			}
		}
		units = append(units, u)
	}
	return units, parsed
}

// TestSystemd checks deploy/systemd: one hardened unit per role, restarted
// whenever it ends, stopped with SIGTERM and given the time pagereply needs, reading
// its secrets from an EnvironmentFile that provides every ${VAR} of the
// configuration; systemd-analyze verify accepts them when it is installed.
// Then it runs the three processes side by side, as on one host.
func TestSystemd(t *testing.T) {
	units, files := systemdUnits(t)
	roles := map[string]bool{}
	for _, u := range units {
		roles[u.args[0]] = true
	}
	for _, r := range []string{"api", "scheduler", "worker"} {
		if !roles[r] {
			t.Errorf("no systemd unit runs pagereply %s", r)
		}
	}
	for _, uf := range files {
		where := uf.file
		want := map[string]string{
			"Restart":         "always",
			"KillSignal":      "SIGTERM",
			"NoNewPrivileges": "yes",
			"ProtectSystem":   "strict",
			"ProtectHome":     "yes",
			"PrivateTmp":      "yes",
		}
		for k, v := range want {
			if got := uf.value("Service", k); got != v {
				t.Errorf("%s: %s=%q, want %s", where, k, got, v)
			}
		}
		if uf.value("Service", "DynamicUser") != "yes" {
			if u := uf.value("Service", "User"); u == "" || u == "root" || u == "0" {
				t.Errorf("%s: runs as root: want DynamicUser=yes or User=pagereply", where)
			}
		}
		if len(uf.values("Service", "EnvironmentFile")) == 0 {
			t.Errorf("%s: no EnvironmentFile for the secrets", where)
		}
		if uf.value("Install", "WantedBy") == "" {
			t.Errorf("%s: no [Install] WantedBy", where)
		}
	}

	// On one host, no two units may listen on the same port.
	seen := map[int]string{}
	for _, u := range units {
		_, cfg, err := u.loadConfig()
		if err != nil {
			continue
		}
		ports, _ := u.listenPorts(cfg)
		for p := range ports {
			if other, dup := seen[p]; dup {
				t.Errorf("%s and %s both listen on port %d", other, u.where, p)
			}
			seen[p] = u.where
		}
	}

	t.Run("systemd-analyze verify", func(t *testing.T) {
		sa, err := exec.LookPath("systemd-analyze")
		if err != nil {
			t.Skip("systemd-analyze is not installed")
		}
		dir := t.TempDir()
		for _, uf := range files {
			data, err := os.ReadFile(uf.file)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.ReplaceAll(string(data), "/usr/local/bin/pagereply", binPath)
			p := filepath.Join(dir, filepath.Base(uf.file))
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(sa, "verify", "--man=no", p).CombinedOutput()
			if err != nil || len(strings.TrimSpace(string(out))) > 0 {
				t.Errorf("systemd-analyze verify %s: %v\n%s", filepath.Base(uf.file), err, out)
			}
		}
	})

	checkUnits(t, units)
}

// TestSystemdRestartsAfterPanic: a Go program that panics, run with each
// unit's Environment, ends in a way its Restart= and RestartPreventExitStatus=
// let systemd restart. A panic exits 2 by default, the status the units keep
// for a bad configuration: before, a role that panicked stayed down.
func TestSystemdRestartsAfterPanic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { done := make(chan int); go func() { panic(\"bug\") }(); <-done }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "crash")
	if out, err := exec.Command("go", "build", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	_, files := systemdUnits(t)
	for _, uf := range files {
		env := []string{"PATH=" + os.Getenv("PATH")}
		for _, e := range uf.values("Service", "Environment") {
			env = append(env, shellWords(e)...)
		}
		if got := uf.values("Service", "Restart"); len(got) != 1 || got[0] != "always" {
			t.Errorf("%s: Restart=%v, want always", uf.file, got)
		}
		cmd := exec.Command(bin)
		cmd.Env = env
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("crash program: %v", err)
		}
		if !ee.Exited() {
			continue // killed by a signal: Restart= restarts it
		}
		for _, p := range uf.values("Service", "RestartPreventExitStatus") {
			for _, code := range strings.Fields(p) {
				if code == strconv.Itoa(ee.ExitCode()) {
					t.Errorf("%s: a panic exits %d, which RestartPreventExitStatus=%s keeps systemd from restarting: the role stays down", uf.file, ee.ExitCode(), p)
				}
			}
		}
	}
}
