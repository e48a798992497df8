package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoleRefusesNoTokensBeforeRedis_audit12: the api role (alone or in
// serve) without api.tokens exits 2 naming api.tokens before it dials
// Redis: with Redis down it used to wait for it and log "Redis does not
// answer yet" (and with Redis up, its persistence warnings) ahead of the
// one line that says what to fix.
func TestRoleRefusesNoTokensBeforeRedis_audit12(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "notokens.yaml")
	// Nothing listens at freeAddr: a dial would fail and be waited out.
	body := "redis:\n  url: redis://" + freeAddr(t) + "/3\npages:\n  - id: \"123\"\n    access_token: \"EAAtoken-for-test-0001\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"api", "-c", cfg}, {"serve", "-c", cfg, "--roles", "api"}, {"serve", "-c", cfg}} {
		out, errOut, code := run(t, args...)
		if code != exitUsage || !strings.Contains(errOut, "api.tokens is empty") {
			t.Errorf("%v: exit %d, want %d naming api.tokens\n%s%s", args, code, exitUsage, out, errOut)
		}
		// The file's path (this test's temporary directory, named after
		// it) is said too, and is no word of Redis.
		if said := strings.ReplaceAll(out+errOut, cfg, "FILE"); strings.Contains(said, "Redis") || strings.Contains(said, "redis") {
			t.Errorf("%v: said something of Redis before refusing the config:\n%s%s", args, out, errOut)
		}
	}
}

// TestDemoBadRedisURL_audit12: demo --redis with something that is not a
// Redis URL exits 2 naming the flag and the form to write, not the key and
// line of the configuration the demo generates ("redis.url: not a valid URL
// (line 2)"), which the user never wrote.
func TestDemoBadRedisURL_audit12(t *testing.T) {
	for _, u := range []string{"127.0.0.1:6379", "http://127.0.0.1:6379/0"} {
		out, errOut, code := run(t, "demo", "--once", "--addr", "127.0.0.1:0", "--redis", u)
		if code != exitUsage || !strings.Contains(errOut, "--redis: ") || !strings.Contains(errOut, "redis://") {
			t.Errorf("demo --redis %s: exit %d, want %d naming --redis and redis://\n%s%s", u, code, exitUsage, out, errOut)
		}
		if strings.Contains(errOut, "redis.url") || strings.Contains(errOut, "(line ") {
			t.Errorf("demo --redis %s: names the generated config's key or line:\n%s", u, errOut)
		}
	}
}

// TestAddrInUseSaysWhatToDo_audit12: an address another process holds
// (api.addr, --health-addr, the sandbox's --addr) stops the command with
// what to do, not with "bind: address already in use" alone, as the demo's
// --addr already did.
func TestAddrInUseSaysWhatToDo_audit12(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	write := func(name, apiAddr string) string {
		p := filepath.Join(t.TempDir(), name)
		body := "redis:\n  url: redis://" + freeAddr(t) + "/3\npages:\n  - id: \"123\"\n    access_token: \"EAAtoken-for-test-0001\"\n    default_text: \"hi\"\napi:\n  addr: \"" + apiAddr + "\"\n  tokens: [\"a-long-api-token-for-tests\"]\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"api", "-c", write("api.yaml", addr)}, "set api.addr to a free address"},
		{[]string{"worker", "-c", write("worker.yaml", freeAddr(t)), "--health-addr", addr}, "pass another --health-addr"},
		{[]string{"sandbox", "--addr", addr}, "pass another --addr"},
	} {
		out, errOut, code := run(t, tc.args...)
		if code != exitError || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, want %d saying %q\n%s%s", tc.args, code, exitError, tc.want, out, errOut)
		}
	}
}
