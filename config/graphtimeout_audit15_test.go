package config

import (
	"strings"
	"testing"
)

// TestGraphTimeoutBound_audit15: graph.timeout sizes more than one Graph
// call. A worker claims a target for 2 × it + 5 s before a send, and waits
// it + 5 s after a send whose answer was lost before asking Graph whether
// the reply landed. A timeout of hours (or one near a Duration's limit,
// where 2 × it overflows) made a killed worker's claim hold its comment for
// that long, or wrapped the lease negative. Above MaxGraphTimeout the config
// is refused, naming the key and the bound; the bound itself loads.
func TestGraphTimeoutBound_audit15(t *testing.T) {
	const page = "pages:\n  - id: \"1\"\n    access_token: t\n    default_text: hi\n"
	for _, tc := range []struct {
		timeout string
		ok      bool
	}{
		{"1ms", true},
		{"10s", true},
		{"1m", true},
		{"1m0.001s", false},
		{"10h", false},
		{"2562047h", false},
	} {
		_, err := Parse([]byte("graph: {timeout: "+tc.timeout+"}\n"+page), nil)
		switch {
		case tc.ok && err != nil:
			t.Errorf("timeout %s: %v, want it loaded", tc.timeout, err)
		case !tc.ok && (err == nil || !strings.Contains(err.Error(), "graph.timeout: ") || !strings.Contains(err.Error(), "at most 1m")):
			t.Errorf("timeout %s: %v, want graph.timeout: ... at most 1m", tc.timeout, err)
		}
	}
}
