package main

import (
	"os"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestUnsetVariableOnlyWhereUsed_audit20: a ${VAR} not set in the operator's
// shell refused every command, so status (Redis alone) or poll of one Page would not run on a bastion without another
// Page's token, the app secret's or the API token's variable. A command now
// refuses only a variable of a key it uses, naming the variable and the key
// (exit 2, with the line saying to export it); check and the roles still
// refuse every unset variable. No value is ever shown.
func TestUnsetVariableOnlyWhereUsed_audit20(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 2, Comments: 3, Seed: 20}, "10/s")
	pa, pb := e.sb.Pages()[0], e.sb.Pages()[1]
	secretsAsVars(t, e.cfgPath, pa.Token, "${AUDIT20_TOKEN_A}", pb.Token, "${AUDIT20_TOKEN_B}",
		e2eAppSecret, "${AUDIT20_APP_SECRET}", e2eVerifyToken, "${AUDIT20_VERIFY}", e2eAPIToken, "${AUDIT20_API}")
	// The shell of an operator who polls Page A: its token and the app
	// secret, nothing else.
	t.Setenv("AUDIT20_TOKEN_A", pa.Token)
	t.Setenv("AUDIT20_APP_SECRET", e2eAppSecret)
	for _, v := range []string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"} {
		os.Unsetenv(v) //nolint:errcheck // not set by anyone; t.Setenv above restores the others
	}
	comment := "122100000000000019_1000000000000599"
	noLeak := func(name, out string) {
		t.Helper()
		for _, s := range e.secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s: output holds a secret value:\n%s", name, out)
			}
		}
	}
	ok := []struct {
		name string
		args []string
	}{
		{"status", []string{"status", "-c", e.cfgPath}},
		{"resume", []string{"resume", "-c", e.cfgPath, "--page", pb.ID}},
		{"poll A dry run", []string{"poll", "-c", e.cfgPath, "--page", pa.ID, "--dry-run"}},
		{"poll A", []string{"poll", "-c", e.cfgPath, "--page", pa.ID}},
	}
	for _, tc := range ok {
		out, errOut, code := runInProcess(t, nil, tc.args...)
		if code != exitOK {
			t.Errorf("%s: exit %d, want 0 (the unset variables are of keys it does not use)\n%s%s", tc.name, code, out, errOut)
		}
		if strings.Contains(errOut, "is not set") && !strings.Contains(errOut, `"level":"DEBUG"`) {
			t.Errorf("%s: says a variable is not set above debug:\n%s", tc.name, errOut)
		}
		noLeak(tc.name, out+errOut)
	}
	// status notes, at debug (the config's log level), what it left unset.
	_, errOut, _ := runInProcess(t, nil, "status", "-c", e.cfgPath)
	if !strings.Contains(errOut, `"key":"pages[1].access_token","error":"environment variable AUDIT20_TOKEN_B is not set"`) {
		t.Errorf("status: no debug note of pages[1].access_token's unset variable:\n%s", errOut)
	}

	refused := []struct {
		name  string
		args  []string
		names []string // the variables named
	}{
		{"poll B", []string{"poll", "-c", e.cfgPath, "--page", pb.ID, "--dry-run"}, []string{"pages[1].access_token: environment variable AUDIT20_TOKEN_B is not set"}},
		// enqueue checks its text and ids against every secret: one whose
		// variable is unset would be missed (another Page's token in a
		// --text, sent to the person).
		{"enqueue to B", []string{"enqueue", "-c", e.cfgPath, "--page", pb.ID, "--comment", comment, "--text", "hi"},
			[]string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
		{"enqueue to A", []string{"enqueue", "-c", e.cfgPath, "--page", pa.ID, "--comment", comment, "--text", "hi"},
			[]string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
		{"enqueue a conversation of B", []string{"enqueue", "-c", e.cfgPath, "--page", pb.ID, "--conversation", "t_1000000000000001", "--text", "hi"},
			[]string{"pages[1].access_token: environment variable AUDIT20_TOKEN_B is not set"}},
		{"check", []string{"check", "-c", e.cfgPath}, []string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
		{"serve", []string{"serve", "-c", e.cfgPath}, []string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
		{"worker", []string{"worker", "-c", e.cfgPath}, []string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
		{"scheduler", []string{"scheduler", "-c", e.cfgPath}, []string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
		{"api", []string{"api", "-c", e.cfgPath}, []string{"AUDIT20_TOKEN_B", "AUDIT20_VERIFY", "AUDIT20_API"}},
	}
	for _, tc := range refused {
		out, errOut, code := runInProcess(t, nil, tc.args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d\n%s%s", tc.name, code, exitUsage, out, errOut)
		}
		for _, n := range tc.names {
			if !strings.Contains(errOut, n) {
				t.Errorf("%s: does not say %q:\n%s", tc.name, n, errOut)
			}
		}
		if !strings.Contains(errOut, "export it") {
			t.Errorf("%s: no line saying to export the variable:\n%s", tc.name, errOut)
		}
		noLeak(tc.name, out+errOut)
	}

	// Without the app secret's variable, Page A's poll (every call carries
	// appsecret_proof) is refused too; status is not.
	os.Unsetenv("AUDIT20_APP_SECRET") //nolint:errcheck // t.Setenv restores it
	if _, errOut, code := runInProcess(t, nil, "poll", "-c", e.cfgPath, "--page", pa.ID, "--dry-run"); code != exitUsage ||
		!strings.Contains(errOut, "graph.app_secret: environment variable AUDIT20_APP_SECRET is not set") {
		t.Errorf("poll A without the app secret: exit %d, want %d naming graph.app_secret's variable\n%s", code, exitUsage, errOut)
	}
	if _, errOut, code := runInProcess(t, nil, "status", "-c", e.cfgPath); code != exitOK {
		t.Errorf("status without the app secret: exit %d\n%s", code, errOut)
	}
}

// secretsAsVars rewrites the config at path with each secret value of
// oldnew (value, "${VAR}" pairs) replaced by its variable reference.
func secretsAsVars(t *testing.T, path string, oldnew ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.NewReplacer(oldnew...).Replace(string(data))), 0o600); err != nil {
		t.Fatal(err)
	}
}
