package graph_test

import (
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph"
)

// TestPolicyBlockErrorSaysSo: a policy block (368, 2022, 10/1893063) is
// classed page broken so that its replies are kept, but the text an operator
// reads in `status`, the logs and the monitor must not send them after a new
// token: it names the policy block. A broken token's text does not.
func TestPolicyBlockErrorSaysSo(t *testing.T) {
	for _, e := range []*graph.Error{
		{Code: 368, Subcode: 1390008, Class: graph.ClassPageBroken, Message: "Temporarily blocked for policies violations"},
		{Code: graph.CodeMessengerBlocked, Class: graph.ClassPageBroken, Message: "blocked"},
		{Code: 10, Subcode: 1893063, Class: graph.ClassPageBroken, Message: "temporarily restricted from sending messages"},
	} {
		if s := e.Error(); !strings.Contains(s, "class page_broken (policy block)") {
			t.Errorf("code %d/%d: %q does not name the policy block", e.Code, e.Subcode, s)
		}
	}
	broken := &graph.Error{Code: 190, Subcode: 463, Class: graph.ClassPageBroken, Message: "Session has expired"}
	if s := broken.Error(); strings.Contains(s, "policy") {
		t.Errorf("an expired token reads %q", s)
	}
}
