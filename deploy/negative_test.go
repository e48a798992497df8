package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestChecksCanFail proves the checks above catch what they are for: each
// case breaks one thing of a real manifest's process and expects the report
// to name it.
func TestChecksCanFail(t *testing.T) {
	c := getCLI(t)
	var good unit
	for _, u := range k8sUnits(t) {
		if u.args[0] == "worker" {
			good = u
		}
	}
	if good.args == nil || len(good.probes) == 0 {
		t.Fatal("no worker Deployment with probes")
	}
	if err := good.check(c); err != nil {
		t.Fatalf("the unmodified unit fails: %v", err)
	}
	clone := func(u unit) unit {
		u.args = slices.Clone(u.args)
		u.probes = slices.Clone(u.probes)
		u.checks = slices.Clone(u.checks)
		u.services = slices.Clone(u.services)
		env, files := map[string]string{}, map[string]string{}
		for k, v := range u.env {
			env[k] = v
		}
		for k, v := range u.files {
			files[k] = v
		}
		u.env, u.files = env, files
		return u
	}
	withConfig := func(u unit, yaml string) unit {
		p := filepath.Join(t.TempDir(), "pagereply.yaml")
		if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		u.files[u.configPath()] = p
		return u
	}
	cfgData, _, err := good.loadConfig()
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		modify func(u unit) unit
		want   string
	}{
		{"bogus flag", func(u unit) unit { u.args = append(u.args, "--bogus-flag", "1"); return u }, "bogus-flag"},
		{"flag of another command", func(u unit) unit { u.args = append(u.args, "--roles", "worker"); return u }, "--roles"},
		{"unknown command", func(u unit) unit { u.args[0] = "wroker"; return u }, "wroker"},
		{"stray argument", func(u unit) unit { u.args = append(u.args, "extra"); return u }, "extra"},
		{"flag without its value", func(u unit) unit { u.args = append(u.args, "--health-addr"); return u }, "--health-addr"},
		{"bad flag value", func(u unit) unit {
			u.checks = [][]string{{"healthcheck", "--timeout", "soon", "--url", "http://127.0.0.1:9090/readyz"}}
			return u
		}, "soon"},
		{"unknown config key", func(u unit) unit {
			return withConfig(u, strings.Replace(string(cfgData), "\napi:\n", "\napi:\n  bogus_key: 1\n", 1))
		}, "bogus_key"},
		{"config var the environment lacks", func(u unit) unit { delete(u.env, "PAGE_TOKEN"); return u }, "PAGE_TOKEN"},
		{"config not mounted", func(u unit) unit { u.files = map[string]string{}; return u }, "not mounted"},
		{"probe on a port nothing listens on", func(u unit) unit {
			u.probes = append(u.probes, probe{what: "readinessProbe", port: 9999, path: "/readyz"})
			return u
		}, "9999"},
		{"health check on another port", func(u unit) unit {
			u.checks = [][]string{{"healthcheck", "--url", "http://127.0.0.1:8081/healthz"}}
			return u
		}, "8081"},
		{"health check not on loopback", func(u unit) unit {
			u.checks = [][]string{{"healthcheck", "--url", "http://example.com:9090/healthz"}}
			return u
		}, "loopback"},
		{"grace shorter than the stop budget", func(u unit) unit { u.grace = 5 * time.Second; return u }, "SIGKILL"},
		{"grace not covering the preStop sleep and the stop budget", func(u unit) unit { u.preStop = u.grace - c.stopBudget + time.Second; return u }, "preStop sleep"},
		{"Service's pods without a preStop sleep", func(u unit) unit { u.services = []string{"pagereply-api"}; return u }, "lifecycle.preStop.sleep"},
		{"Service's pods with a short preStop sleep", func(u unit) unit {
			u.services, u.preStop, u.grace = []string{"pagereply-api"}, time.Second, u.grace+time.Second
			return u
		}, "lifecycle.preStop.sleep"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.modify(clone(good)).check(c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("check = %v; want an error naming %q", err, tc.want)
			}
		})
	}

	t.Run("probe path the binary does not serve", func(t *testing.T) {
		le := newLiveEnv(t)
		s, err := le.start(t, good)
		if err != nil {
			t.Fatal(err)
		}
		ok := probe{what: "readinessProbe", port: good.probes[0].port, path: "/readyz"}
		deadline := time.Now().Add(15 * time.Second)
		for s.probeOK(ok) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s never became ready: %s", good.where, s.stderr)
			}
			time.Sleep(50 * time.Millisecond)
		}
		bad := probe{what: "livenessProbe", port: good.probes[0].port, path: "/health"}
		if err := s.probeOK(bad); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("probe of /health = %v; want a 404 reported", err)
		}
	})

	t.Run("overlay patch of a missing object", func(t *testing.T) {
		dir := t.TempDir()
		rel, err := filepath.Rel(dir, mustAbs(t, "k8s/base"))
		if err != nil {
			t.Fatal(err)
		}
		kust := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: x\nresources: [" + rel + "]\npatches:\n  - path: p.yaml\n"
		patch := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: pagereply-wroker\n"
		if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kust), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(patch), 0o644); err != nil {
			t.Fatal(err)
		}
		problems := overlayProblems(loadKustomization(t, "k8s/base"), loadKustomization(t, dir))
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "pagereply-wroker") }) {
			t.Fatalf("problems %q; want one naming pagereply-wroker", problems)
		}
	})
}
