package api

import (
	"strings"
	"testing"
)

// TestUnknownFieldEchoMax_audit18: an unknown member's name of echoMax (7)
// bytes is quoted, in the message and as the field; one of 8 bytes is
// not, anywhere. Kills "len(name) > echoMax" turned into ">=", which the
// tests of a 1-, 6- and 100-byte name leave alive.
func TestUnknownFieldEchoMax_audit18(t *testing.T) {
	e := unknownField("replies[0].", "seven77", "then")
	if e.field != "replies[0].seven77" || !strings.Contains(e.msg, `"seven77"`) {
		t.Errorf("7-byte name: field %q, message %q; want it quoted in both", e.field, e.msg)
	}
	e = unknownField("replies[0].", "eight888", "then")
	if e.field != "replies[0]" || strings.Contains(e.msg, "eight") {
		t.Errorf("8-byte name: field %q, message %q; want it in neither", e.field, e.msg)
	}
}
