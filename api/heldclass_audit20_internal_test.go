package api

import "testing"

// TestHeldClass_audit20: the class of a waiting reply's last error, from
// the worker's put-back and retry texts; none for a wait no error caused.
func TestHeldClass_audit20(t *testing.T) {
	for _, c := range []struct{ lastErr, want string }{
		{"put back for 5m10s: page paused: page_broken: graph: Error validating access token [code 190, http 400, class page_broken]", "page_broken"},
		{"put back for 1m0s: page paused: throttled", "throttled"},
		{"put back for 1h0m0s: page paused: policy_block", "page_broken"},
		{"put back for 30s: page paused: graph_down", "transient"},
		{"reply comment:1_2: graph: Temporary send message failure [code 1200, http 400, class transient]", "transient"},
		{"reply comment:1_2: graph: messages: timeout [http 504, class transient, outcome unknown]", "transient"},
		{"put back for 1s: page rate used up", ""},
		{"", ""},
	} {
		if got := heldClass(c.lastErr); got != c.want {
			t.Errorf("heldClass(%q) = %q, want %q", c.lastErr, got, c.want)
		}
	}
}
