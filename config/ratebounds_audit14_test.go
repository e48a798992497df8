package config

import (
	"strings"
	"testing"
)

// TestRateAndBurstBounds_audit14: a Page's limiter paces sends 1.01 × the
// rate's interval apart and lets burst × that interval through at once, in
// nanoseconds. A rate a valid Go duration can write but that slow
// ("1/2562047h") made the interval overflow: the worker then sent the
// Page's whole backlog at once (455 sends in 12 s against the sandbox,
// where the config allowed one), and a burst large enough overflowed the
// same way. Such values are refused at load, with the bounds named: at
// least 1 a day, a burst of at most 100000. The bounds themselves load.
func TestRateAndBurstBounds_audit14(t *testing.T) {
	page := func(extra string) string {
		return "pages:\n  - id: \"1\"\n    access_token: t\n    default_text: hi\n" + extra
	}
	for _, tc := range []struct {
		extra, path, msg string // msg "": loads
	}{
		{"    rate: 1/24h\n", "", ""},
		{"    rate: 2/48h\n", "", ""},
		{"    rate: 1/h\n    burst: 100000\n", "", ""},
		{"    rate: 1/24h\n    burst: 100000\n", "", ""},
		{"    rate: 1/25h\n", "pages[0].rate", "at least 1 a day"},
		{"    rate: 1/2562047h\n", "pages[0].rate", "at least 1 a day"},
		{"    rate: 3/100h\n", "pages[0].rate", "at least 1 a day"},
		{"    burst: 100001\n", "pages[0].burst", "at most 100000"},
		{"    burst: 100000000\n", "pages[0].burst", "at most 100000"},
	} {
		_, err := Parse([]byte(page(tc.extra)), nil)
		switch {
		case tc.msg == "" && err != nil:
			t.Errorf("%q: %v, want it loaded", tc.extra, err)
		case tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.path+": ") || !strings.Contains(err.Error(), tc.msg)):
			t.Errorf("%q: %v, want %s: ... %s", tc.extra, err, tc.path, tc.msg)
		}
	}
}
