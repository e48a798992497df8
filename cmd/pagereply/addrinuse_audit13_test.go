package main

import (
	"net"
	"strings"
	"testing"
)

// TestDemoAddrInUseExit1_audit13: pagereply demo --addr on an address
// another process holds exits 1 saying what to do, as serve, api and
// sandbox do (TestAPIAddrTakenAudit3, TestAddrInUseSaysWhatToDo_audit12):
// exit 2 is for usage and configuration mistakes. Before the fix the demo
// exited 2.
func TestDemoAddrInUseExit1_audit13(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	for _, args := range [][]string{
		{"demo", "--once", "--addr", addr},
		{"sandbox", "--addr", addr},
	} {
		out, errOut, code := run(t, args...)
		if code != exitError || !strings.Contains(errOut, "--addr "+addr+" is in use") {
			t.Errorf("%v: exit %d, want %d saying --addr %s is in use\n%s%s", args, code, exitError, addr, out, errOut)
		}
	}
}
