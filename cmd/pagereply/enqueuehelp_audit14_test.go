package main

import (
	"strings"
	"testing"
)

// TestEnqueueHelpNamesSecretID_audit14: enqueue exits 2 for an id
// (--comment, --post, --conversation) holding one of the configuration's
// secrets, as README's commands table says and as it does; its -h listed
// every other input the API answers 400 to, but not that one.
func TestEnqueueHelpNamesSecretID_audit14(t *testing.T) {
	stdout, _, code := runInProcess(t, nil, "enqueue", "-h")
	if code != exitOK {
		t.Fatalf("enqueue -h: exit %d", code)
	}
	flat := strings.Join(strings.Fields(stdout), " ")
	if !strings.Contains(flat, "an id (--comment, --post, --conversation) holding one") {
		t.Errorf("enqueue -h does not say that an id holding a secret exits 2:\n%s", stdout)
	}
}
