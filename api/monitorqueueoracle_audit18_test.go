package api_test

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestMonitorQueueNameNoOracle_audit18: the monitor's answer to a queue
// that does not exist is the same, byte for byte, whether or not the name
// holds a secret of the configuration. Quoting every name but one holding
// a secret told a caller with an API token whether any of its guesses was
// the secret, as many guesses per request as a path of up to a megabyte
// holds (an 8-digit Redis password in a few hundred requests).
func TestMonitorQueueNameNoOracle_audit18(t *testing.T) {
	const secret, other = "48291375", "48291376"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{secret} })
	for _, tail := range []string{"", "/pending_tasks"} {
		answer := func(guess string) (int, string) {
			resp, b := e.request(t, "GET", "/monitor/api/queues/q"+guess+"-"+strings.Repeat("0", 20)+tail, testToken, "")
			return resp.StatusCode, string(b)
		}
		cs, bs := answer(secret)
		co, bo := answer(other)
		if cs != co || bs != bo || cs != 404 {
			t.Errorf("%q: a name holding the secret is answered %d %s, another %d %s; want the same 404", tail, cs, bs, co, bo)
		}
	}
}
