package api_test

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestMonitorQueueNameSecretNotEchoed_audit15: the monitor's "no such
// queue" answer named the queue of the path as the client wrote it, a
// secret of the configuration too (an API token, a digit-only Redis
// password: a queue name is no Graph id, so digits are looked for as
// anywhere else), as POST /v1/replies never echoes a page_id that may be
// one. The answer still says 404 no such queue, without the name; an
// ordinary name is still quoted.
func TestMonitorQueueNameSecretNotEchoed_audit15(t *testing.T) {
	const numeric = "00000000"
	e := newEnv(t, func(p *api.Params) { p.Secrets = []string{numeric} })
	for _, q := range []string{numeric, "q" + numeric, testToken} {
		for _, path := range []string{"/monitor/api/queues/" + q, "/monitor/api/queues/" + q + "/pending_tasks"} {
			resp, b := e.request(t, "GET", path, testToken, "")
			if resp.StatusCode != 404 || strings.Contains(string(b), q) || !strings.Contains(string(b), "no such queue") {
				t.Errorf("GET %s: %d %s; want 404 no such queue, the name not shown", path, resp.StatusCode, b)
			}
		}
	}
	if resp, b := e.request(t, "GET", "/monitor/api/queues/nosuch", testToken, ""); resp.StatusCode != 404 || !strings.Contains(string(b), `no such queue: \"nosuch\"`) {
		t.Errorf("GET an unknown queue: %d %s; want 404 naming it", resp.StatusCode, b)
	}
	if strings.Contains(e.logs.String(), numeric) || strings.Contains(e.logs.String(), testToken) {
		t.Errorf("a secret reached the log:\n%s", e.logs.String())
	}
}
