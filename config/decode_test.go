package config

import (
	"strings"
	"testing"
)

// TestDecodeErrorsQuoteNoSecret writes literal secrets that YAML reads
// fine but pagereply rejects: no error may quote a piece of them.
func TestDecodeErrorsQuoteNoSecret(t *testing.T) {
	s := literalSecret
	tests := []struct {
		name     string
		yaml     string
		wantPath string
		wantMsg  string
	}{
		{name: "token run into its key", yaml: "pages:\n  - {id: \"1\", access_token:" + s + "}\n", wantPath: "pages[0]", wantMsg: `"access_token: value"`},
		{name: "token after an equals sign", yaml: "pages:\n  - {id: \"1\", access_token=" + s + "}\n", wantPath: "pages[0]", wantMsg: `"access_token: value"`},
		{name: "token after a space", yaml: "pages:\n  - id: \"1\"\n    access_token " + s + ": x\n", wantPath: "pages[0]", wantMsg: "not shown"},
		{name: "key twice", yaml: "pages:\n  - {id: \"1\", access_token:" + s + ", access_token:" + s + "}\n", wantPath: "pages[0]", wantMsg: "not shown"},
		{name: "secret as a key", yaml: "graph: {" + s + "}\npages:\n  - {id: \"1\", access_token: x}\n", wantPath: "graph", wantMsg: "not shown"},
		// A verify token may be letters alone: one past the longest shown key is not shown.
		{name: "letters-only secret as a key", yaml: "graph: {" + strings.Repeat("verifyMe", 2) + "_abcd: x}\npages:\n  - {id: \"1\", access_token: x}\n", wantPath: "graph", wantMsg: "not shown"},
		{name: "redis password with a #", yaml: "redis: {url: \"redis://default:987654321#" + s + "@h:6379/0\"}\npages:\n  - {id: \"1\", access_token: x}\n", wantPath: "redis.url", wantMsg: "holds a # (write a # in the password as %23)"},
		// The password's head is a valid port: before, the URL passed, and
		// every message naming the Redis showed "redis://default:4821".
		{name: "redis password with a # after a port's digits", yaml: "redis: {url: \"redis://default:4821#" + s + "@h:6379/0\"}\npages:\n  - {id: \"1\", access_token: x}\n", wantPath: "redis.url", wantMsg: "holds a #"},
		{name: "api token with ${", yaml: "pages:\n  - {id: \"1\", access_token: x}\napi: {tokens: [\"ab${" + s[:6] + "-" + s[6:] + "}cd\"]}\n", wantPath: "api.tokens[0]", wantMsg: "invalid variable name"},
		{name: "token pasted as the Page id", yaml: "pages:\n  - {id: \"" + s + "\", access_token: x}\n", wantPath: "pages[0].id", wantMsg: "not a numeric Page id"},
		{name: "token pasted as the schedule", yaml: "pages:\n  - {id: \"1\", access_token: x, schedule: " + s + "}\n", wantPath: "pages[0].schedule", wantMsg: "has 1 field, not 5"},
		{name: "token in a schedule's field", yaml: "pages:\n  - {id: \"1\", access_token: x, schedule: \"0 " + s + " * * *\"}\n", wantPath: "pages[0].schedule", wantMsg: "the hour (2nd) field is not valid"},
		{name: "token as a schedule's descriptor", yaml: "pages:\n  - {id: \"1\", access_token: x, schedule: \"@" + s + "\"}\n", wantPath: "pages[0].schedule", wantMsg: "not a descriptor"},
		{name: "token after @every", yaml: "pages:\n  - {id: \"1\", access_token: x, schedule: \"@every " + s + "\"}\n", wantPath: "pages[0].schedule", wantMsg: "@every needs a Go duration"},
		{name: "token as a schedule's time zone", yaml: "pages:\n  - {id: \"1\", access_token: x, schedule: \"TZ=" + s + " 0 9 * * *\"}\n", wantPath: "pages[0].schedule", wantMsg: "time zone"},
		{name: "token pasted as the rate", yaml: "pages:\n  - {id: \"1\", access_token: x, rate: " + s + "}\n", wantPath: "pages[0].rate", wantMsg: "is not a rate: want N/s, N/m or N/h, like 10/s"},
		{name: "token in a rate", yaml: "pages:\n  - {id: \"1\", access_token: x, rate: \"10/" + s + "\"}\n", wantPath: "pages[0].rate", wantMsg: "is not a rate: the period after /"},
		{name: "token pasted as a duration", yaml: "pages:\n  - {id: \"1\", access_token: x, max_age: " + s + "}\n", wantPath: "pages[0].max_age", wantMsg: "is not a duration"},
		{name: "token pasted as an integer", yaml: "pages:\n  - {id: \"1\", access_token: x}\nworker: {concurrency: " + s + "}\n", wantPath: "worker.concurrency", wantMsg: "is not an integer"},
		{name: "token pasted as a bool", yaml: "pages:\n  - {id: \"1\", access_token: x}\napi: {monitor: " + s + "}\n", wantPath: "api.monitor", wantMsg: "is not true or false"},
		{name: "api token pasted as api.addr", yaml: "pages:\n  - {id: \"1\", access_token: x}\napi: {addr: " + s + "}\n", wantPath: "api.addr", wantMsg: "is not host:port, like 127.0.0.1:8080"},
		{name: "token in api.addr's port", yaml: "pages:\n  - {id: \"1\", access_token: x}\napi: {addr: \"h:" + s + "\"}\n", wantPath: "api.addr", wantMsg: "no valid port"},
		{name: "password pasted as a sentinel address", yaml: "pages:\n  - {id: \"1\", access_token: x}\nredis: {sentinel: {master: m, addrs: [\":" + s + "\"]}}\n", wantPath: "redis.sentinel.addrs[0]", wantMsg: "has no host"},
		{name: "token pasted as the Graph version", yaml: "pages:\n  - {id: \"1\", access_token: x}\ngraph: {version: " + s + "}\n", wantPath: "graph.version", wantMsg: "is not a version like v25.0"},
		{name: "token in reply_to", yaml: "pages:\n  - {id: \"1\", access_token: x, reply_to: [" + s + "]}\n", wantPath: "pages[0].reply_to[0]", wantMsg: "is not one of comments, posts, conversations"},
		{name: "token as two Pages' id", yaml: "pages:\n  - {id: \"" + s + "\", access_token: x}\n  - {id: \"" + s + "\", access_token: x}\n", wantPath: "pages[1].id", wantMsg: "already pages[0]"},
		{name: "token in a rule's match", yaml: "pages:\n  - {id: \"1\", access_token: x, rules: [{match: \"" + s + "(\", text: hi}]}\n", wantPath: "pages[0].rules[0].match", wantMsg: "is not a valid Go regexp: missing closing )"},
		{name: "token as a field of a rule's text", yaml: "pages:\n  - {id: \"1\", access_token: x, rules: [{match: a, text: \"Hi {{." + s + "}}\"}]}\n", wantPath: "pages[0].rules[0].text", wantMsg: "the action at column 6 names a field reply texts do not have; the fields are"},
		{name: "token as a function in default_text", yaml: "pages:\n  - {id: \"1\", access_token: x, default_text: \"Hi {{" + s + "}}\"}\n", wantPath: "pages[0].default_text", wantMsg: "calls a function that does not exist"},
		{name: "token in a template string", yaml: "pages:\n  - {id: \"1\", access_token: x, default_text: \"{{index \\\"" + s + "\\\" 99}}\"}\n", wantPath: "pages[0].default_text", wantMsg: "the action at column 3 calls a function that fails"},
		{name: "token as a variable in default_text", yaml: "pages:\n  - {id: \"1\", access_token: x, default_text: \"{{$" + s + "}}\"}\n", wantPath: "pages[0].default_text", wantMsg: "$variable that is not defined"},
		{name: "token written in ${ }", yaml: "pages:\n  - {id: \"1\", access_token: \"${" + s + "}\"}\n", wantPath: "pages[0].access_token", wantMsg: "a variable in ${...} is not set (its name is not shown"},
		{name: "long capitalised token in ${ }", yaml: "pages:\n  - {id: \"1\", access_token: \"${EAAB" + strings.Repeat("Q7ZX9", 8) + "}\"}\n", wantPath: "pages[0].access_token", wantMsg: "its name is not shown"},
		{name: "capitalised token one past the longest shown name", yaml: "pages:\n  - {id: \"1\", access_token: \"${" + strings.Repeat("Q7ZX9", 8) + "A}\"}\n", wantPath: "pages[0].access_token", wantMsg: "its name is not shown"},
		{name: "redis password with ${", yaml: "redis: {url: \"redis://:${" + s + "!}@h:6379/0\"}\npages:\n  - {id: \"1\", access_token: x}\n", wantPath: "redis.url", wantMsg: "invalid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(nil))
			if err == nil {
				t.Fatalf("Parse succeeded:\n%s", tt.yaml)
			}
			for _, piece := range append(secretPieces(), "987654321", "4821") {
				if strings.Contains(err.Error(), piece) {
					t.Errorf("error quotes %q from the file: %v", piece, err)
				}
			}
			for _, fe := range fieldErrors(t, err) {
				if fe.Path == tt.wantPath && strings.Contains(fe.Msg, tt.wantMsg) {
					if fe.Line == 0 {
						t.Errorf("no line in %v", fe)
					}
					return
				}
			}
			t.Errorf("no error at %q containing %q in:\n%v", tt.wantPath, tt.wantMsg, err)
		})
	}
}

// TestKnownKeysStillShown keeps the unknown-key message useful: a key that
// looks like a key is still named.
func TestKnownKeysStillShown(t *testing.T) {
	_, err := Parse([]byte(withPage("acess_token: x", "")), env(nil))
	if err == nil || !strings.Contains(err.Error(), "pages[0].acess_token: unknown key (known keys: id, access_token") {
		t.Errorf("error %v, want the misspelt key named", err)
	}
}
