package main

import (
	"strings"
	"testing"
)

// TestSandboxReadRateHelpNamesObjects_audit13: sandbox -h says --read-rate
// throttles a Page's object reads with 80001 as well, as the sandbox does
// (and README says); it named the feed and comments only.
func TestSandboxReadRateHelpNamesObjects_audit13(t *testing.T) {
	out, _, code := runInProcess(t, nil, "sandbox", "-h")
	if code != exitOK || !strings.Contains(out, "80001 (feed, comments, objects)") {
		t.Errorf("sandbox -h: exit %d, --read-rate's 80001 without objects:\n%s", code, out)
	}
}
