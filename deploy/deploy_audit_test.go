package deploy_test

import (
	"net"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// allUnits returns every pagereply process of compose, Kubernetes and systemd.
func allUnits(t *testing.T) []unit {
	t.Helper()
	sd, _ := systemdUnits(t)
	return append(append(composeUnits(t), k8sUnits(t)...), sd...)
}

// TestAuditSecretsAreFakeAndFromEnv: every secret a manifest's process ends up
// with comes from the environment (${VAR}) and, in these committed files, is a
// FAKE- example. A real token pasted into pagereply.yaml, compose.yaml's
// environment, a Deployment's env, the example Secret or an env example would
// be published with the repository.
func TestAuditSecretsAreFakeAndFromEnv(t *testing.T) {
	for _, u := range allUnits(t) {
		_, cfg, err := u.loadConfig()
		if err != nil {
			t.Errorf("%s: %v", u.where, err)
			continue
		}
		if in := cfg.SecretsInFile(); len(in) > 0 {
			t.Errorf("%s: %v written in the configuration file, not taken from the environment", u.where, in)
		}
		// loadConfig hands the process ownSecret's stand-in for each FAKE-
		// example: a secret without it was not a FAKE- example.
		for _, s := range cfg.Secrets() {
			if !strings.Contains(s, "own-") {
				t.Errorf("%s: a secret of its configuration is not one of the FAKE- examples (a real secret committed?)", u.where)
			}
		}
	}
}

// TestAuditListenAddresses: in a container, the api and --health-addr must
// listen on every interface (the kubelet probes the pod's IP, compose
// publishes the container's port); with systemd they stay on loopback, behind
// a TLS proxy, as deploy/README.md says.
func TestAuditListenAddresses(t *testing.T) {
	check := func(units []unit, loopback bool) {
		for _, u := range units {
			_, cfg, err := u.loadConfig()
			if err != nil {
				t.Errorf("%s: %v", u.where, err)
				continue
			}
			addrs := map[string]string{}
			if u.roles()["api"] {
				addrs["api.addr"] = cfg.API.Addr
			}
			if a, ok := flagValue(u.args, "health-addr"); ok {
				addrs["--health-addr"] = a
			}
			for what, a := range addrs {
				host, _, _ := net.SplitHostPort(a)
				ip := net.ParseIP(host)
				isLoop := host == "localhost" || ip != nil && ip.IsLoopback()
				isAll := host == "" || ip != nil && ip.IsUnspecified()
				if loopback && !isLoop {
					t.Errorf("%s: %s %q is not loopback: the unencrypted API and metrics would be open to the network", u.where, what, a)
				}
				if !loopback && !isAll {
					t.Errorf("%s: %s %q: in a container it must listen on every interface (\":PORT\"), or probes and published ports cannot reach it", u.where, what, a)
				}
			}
		}
	}
	check(append(composeUnits(t), k8sUnits(t)...), false)
	sd, _ := systemdUnits(t)
	check(sd, true)
}

// TestAuditComposeNetwork: the API is published on the host's loopback only,
// and the pagereply services reach the compose redis service, which listens
// on the compose network.
func TestAuditComposeNetwork(t *testing.T) {
	c := loadCompose(t)
	for name, svc := range c.services {
		for _, p := range stringList(svc["ports"]) {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("compose service %s publishes %q on every host interface: want 127.0.0.1:HOST:CONTAINER (a TLS proxy in front)", name, p)
			}
		}
	}
	redisPort := "6379"
	cmd := commandOf(c.services["redis"]["command"])
	if p, ok := flagValue(cmd, "port"); ok {
		redisPort = p
	}
	for _, u := range composeUnits(t) {
		ru, err := url.Parse(u.env["REDIS_URL"])
		if err != nil || ru.Hostname() != "redis" || ru.Port() != redisPort {
			t.Errorf("%s: REDIS_URL %q: want the compose redis service, redis:%s", u.where, u.env["REDIS_URL"], redisPort)
		}
	}
	// redis.conf leaves networking to the command line (it is also included
	// from a distribution's redis.conf); without a password the command line
	// must turn protected mode off, or Redis refuses every other container.
	for _, d := range redisDirectives(t, "redis/redis.conf") {
		switch d[0] {
		case "bind", "port", "protected-mode", "requirepass", "unixsocket":
			t.Errorf("redis.conf sets %s %s: networking belongs to the including file or the command line", d[0], d[1])
		}
	}
	if pm, _ := flagValue(cmd, "protected-mode"); pm != "no" {
		if _, pw := flagValue(cmd, "requirepass"); !pw {
			t.Errorf("compose redis command %v: no password and protected mode on: Redis refuses the pagereply containers", cmd)
		}
	}
	if hc := strings.Join(commandOf(dig(c.services["redis"], "healthcheck", "test")), " "); !strings.Contains(hc, "PONG") {
		t.Errorf("redis healthcheck %q: want PONG, not just an answer (LOADING while the AOF loads)", hc)
	}
}

// TestAuditRedisDurability: the redis.conf settings that keep the queue and
// the ledger across a crash, a rewrite or a full disk, and bound memory.
func TestAuditRedisDurability(t *testing.T) {
	want := map[string]string{
		"stop-writes-on-bgsave-error": "yes",
		"aof-load-truncated":          "yes",
		"no-appendfsync-on-rewrite":   "no",
	}
	got := map[string]string{}
	for _, d := range redisDirectives(t, "redis/redis.conf") {
		got[d[0]] = d[1]
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("redis.conf: %s %q, want %s", k, got[k], v)
		}
	}
	if n, _ := strconv.ParseInt(normalizeRedis(got["maxmemory"]), 10, 64); n < 64<<20 {
		t.Errorf("redis.conf: maxmemory %q: want a ceiling (of at least 64mb) so that a backlog meets an OOM error, not the kernel's OOM killer", got["maxmemory"])
	}
}

// TestAuditNonRoot: no manifest runs pagereply as root: a compose user:, a
// Kubernetes runAsUser or runAsGroup of 0 (which with runAsNonRoot the kubelet
// refuses to start).
func TestAuditNonRoot(t *testing.T) {
	c := loadCompose(t)
	for name, svc := range c.services {
		if u := strings.Split(str(svc["user"]), ":")[0]; u == "0" || u == "root" {
			t.Errorf("compose service %s: user %q", name, str(svc["user"]))
		}
		if name == "redis" {
			continue
		}
		if svc["read_only"] != true || !slices.Contains(stringList(svc["cap_drop"]), "ALL") || !slices.Contains(stringList(svc["security_opt"]), "no-new-privileges:true") {
			t.Errorf("compose service %s: want read_only, cap_drop ALL and no-new-privileges", name)
		}
	}
	for _, d := range loadKustomization(t, "k8s/base").all("Deployment") {
		pod := mapOf(dig(d.doc, "spec", "template", "spec"))
		ctxs := []map[string]any{mapOf(pod["securityContext"])}
		for _, cv := range listOf(pod["containers"]) {
			ctxs = append(ctxs, mapOf(mapOf(cv)["securityContext"]))
		}
		for _, sc := range ctxs {
			for _, k := range []string{"runAsUser", "runAsGroup"} {
				if v, ok := sc[k]; ok && str(v) == "0" {
					t.Errorf("%s: %s 0", d, k)
				}
			}
		}
	}
}

// TestAuditSystemdNetwork: the units' sandbox leaves the process the network
// it needs: Redis and Graph over TCP.
func TestAuditSystemdNetwork(t *testing.T) {
	_, files := systemdUnits(t)
	for _, uf := range files {
		fams := strings.Fields(uf.value("Service", "RestrictAddressFamilies"))
		if len(fams) > 0 && !strings.HasPrefix(fams[0], "~") {
			for _, f := range []string{"AF_INET", "AF_INET6"} {
				if !slices.Contains(fams, f) {
					t.Errorf("%s: RestrictAddressFamilies=%s lacks %s: no Redis or Graph", uf.file, strings.Join(fams, " "), f)
				}
			}
		}
		if uf.value("Service", "PrivateNetwork") == "yes" || uf.value("Service", "IPAddressDeny") != "" {
			t.Errorf("%s: cut off from the network (PrivateNetwork or IPAddressDeny)", uf.file)
		}
	}
}

// TestAuditStopMargin: every supervisor allows pagereply's stop budget plus a
// margin for the process to exit (deploy/README.md: 45 s).
func TestAuditStopMargin(t *testing.T) {
	c := getCLI(t)
	for _, u := range allUnits(t) {
		if got := u.sigtermToKill(); got < c.stopBudget+5*time.Second {
			t.Errorf("%s: %s between SIGTERM and SIGKILL, want %s (the stop budget and 5s to exit)", u.where, got, c.stopBudget+5*time.Second)
		}
	}
}

// TestAuditREADMEInstall: deploy/README.md's systemd install lines put each
// file where the units read it (systemdInstall), the environment file with
// its secrets 0600.
func TestAuditREADMEInstall(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	re := regexp.MustCompile(`(?m)^sudo install -m (\d+) (\S+) (\S+)`)
	installed := map[string][2]string{}
	for _, m := range re.FindAllStringSubmatch(readme, -1) {
		installed[m[3]] = [2]string{m[1], m[2]}
	}
	for dst, local := range systemdInstall {
		got, ok := installed[dst]
		switch {
		case !ok:
			t.Errorf("README.md installs nothing at %s, which the units use", dst)
		case local != "" && got[1] != "deploy/"+local:
			t.Errorf("README.md installs %s from %s, want deploy/%s", dst, got[1], local)
		}
	}
	if m := installed["/etc/pagereply/pagereply.env"][0]; m != "0600" {
		t.Errorf("README.md installs the environment file with mode %s: its secrets want 0600", m)
	}
	// The health check its systemd steps run probes a port a unit listens on.
	sd, _ := systemdUnits(t)
	ports := listenPortsOf(t, sd)
	_, section, _ := strings.Cut(readme, "\n## systemd\n")
	section, _, _ = strings.Cut(section, "\n## ")
	checks := regexp.MustCompile(`(?m)^pagereply healthcheck --url (\S+)`).FindAllStringSubmatch(section, -1)
	if len(checks) == 0 {
		t.Error("README.md: no pagereply healthcheck in the systemd section")
	}
	for _, m := range checks {
		if p, err := urlPort(m[1]); err != nil || !ports[p] {
			t.Errorf("README.md: healthcheck %s: no systemd unit listens there (%v)", m[1], sortedInts(ports))
		}
	}
}

// TestAuditGitignore: the files the README has the reader fill with real
// secrets are ignored by git.
func TestAuditGitignore(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	if exec.Command(git, "rev-parse", "--is-inside-work-tree").Run() != nil {
		t.Skip("not a git work tree")
	}
	for _, p := range []string{".env", "k8s/overlays/example/secrets.env", "systemd/pagereply.env"} {
		if err := exec.Command(git, "check-ignore", "-q", "--no-index", p).Run(); err != nil {
			t.Errorf("git does not ignore deploy/%s: real secrets could be committed", p)
		}
	}
}

// TestAuditImageDefaults: the image's own health check probes a route the
// api serves, and its PAGEREPLY_CONFIG is where compose and Kubernetes mount
// the configuration.
func TestAuditImageDefaults(t *testing.T) {
	img := dockerImage(t)
	raw, ok := flagValue(img.healthcheck[1:], "url")
	if !ok {
		raw = "http://127.0.0.1:8080/healthz"
	}
	if u, err := url.Parse(raw); err != nil || (u.Path != "/healthz" && u.Path != "/readyz") {
		t.Errorf("HEALTHCHECK %s: want /healthz or /readyz", raw)
	}
	for _, u := range append(composeUnits(t), k8sUnits(t)...) {
		if _, ok := u.files[img.env["PAGEREPLY_CONFIG"]]; !ok {
			t.Errorf("%s: mounts no configuration at the image's PAGEREPLY_CONFIG %s", u.where, img.env["PAGEREPLY_CONFIG"])
		}
	}
}

// TestAuditK8sScrapeAndDisruption: each pod's prometheus.io annotations point
// at a port its container serves /metrics on (the workers' counters come only
// from --health-addr), and no PodDisruptionBudget's minAvailable takes every
// replica, which would block every node drain.
func TestAuditK8sScrapeAndDisruption(t *testing.T) {
	base := loadKustomization(t, "k8s/base")
	units := kustomizationUnits(t, base)
	for _, d := range base.all("Deployment") {
		ann := mapOf(dig(d.doc, "spec", "template", "metadata", "annotations"))
		if str(ann["prometheus.io/scrape"]) != "true" {
			continue
		}
		port, _ := strconv.Atoi(str(ann["prometheus.io/port"]))
		for _, u := range units {
			if !strings.HasPrefix(u.where, "Deployment "+d.name()+" ") {
				continue
			}
			_, cfg, err := u.loadConfig()
			if err != nil {
				t.Errorf("%s: %v", u.where, err)
				continue
			}
			ports, _ := u.listenPorts(cfg)
			if _, ok := ports[port]; !ok || str(ann["prometheus.io/path"]) != "/metrics" {
				t.Errorf("%s: prometheus.io/port %v path %v: it serves /metrics on %v", d, ann["prometheus.io/port"], ann["prometheus.io/path"], ports)
			}
		}
		replicas, ok := dig(d.doc, "spec", "replicas").(int)
		for _, h := range base.all("HorizontalPodAutoscaler") {
			if str(dig(h.doc, "spec", "scaleTargetRef", "name")) == d.name() {
				replicas, ok = dig(h.doc, "spec", "minReplicas").(int)
			}
		}
		if !ok {
			replicas = 1
		}
		for _, p := range base.all("PodDisruptionBudget") {
			if !labelsMatch(mapOf(dig(p.doc, "spec", "selector", "matchLabels")), mapOf(dig(d.doc, "spec", "template", "metadata", "labels"))) {
				continue
			}
			if m, ok := dig(p.doc, "spec", "minAvailable").(int); ok && m >= replicas {
				t.Errorf("%s: minAvailable %d with %d replicas of %s: no pod may ever be evicted, node drains hang", p, m, replicas, d)
			}
		}
	}
}
