package main

import (
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestEnqueueConversationGraphNoAnswerNamesBaseURL_audit22: enqueue
// --conversation with nothing listening at graph.base_url (a loopback port
// that refuses connections) said only "Graph did not answer the
// conversation read; try again", naming no URL: the user could not tell
// which graph.base_url was tried. It now names the URL and its key, as
// pagereply poll does, and never the token, the app secret or an
// appsecret_proof.
func TestEnqueueConversationGraphNoAnswerNamesBaseURL_audit22(t *testing.T) {
	cfg, base := noGraphConfig(t, "  app_secret: \"appsecretappsecret42\"\n")
	out, errOut, code := run(t, "enqueue", "-c", cfg, "--page", "123", "--conversation", "t_1", "--text", "hi")
	want := "pagereply enqueue: Graph did not answer at " + base + " (graph.base_url):"
	if code != exitError || !strings.Contains(errOut, want) {
		t.Fatalf("enqueue --conversation with nothing at graph.base_url: exit %d, want %d and a line %q\n%s", code, exitError, want, errOut)
	}
	for _, secret := range []string{"EAABtokentoken", "appsecretappsecret42", "appsecret_proof", "access_token"} {
		if strings.Contains(out+errOut, secret) {
			t.Errorf("the output holds %q:\n%s%s", secret, out, errOut)
		}
	}
}

// TestEnqueueConversationRefusedTokenSaysWhatToDo_audit22: enqueue
// --conversation whose read Graph refuses for the Page's token said only
// "the Page's access token or permissions do not let it read
// conversations": no key to check, and nothing of the pause the read had
// just put on the Page, which holds every reply of it for 5 minutes. It now
// names pages[0].access_token, as pagereply poll does, and says that the
// Page is paused now and what lifts it; the token is never printed.
func TestEnqueueConversationRefusedTokenSaysWhatToDo_audit22(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 1, Seed: 22}, "10/s")
	page := e.sb.Pages()[0]
	conv, _ := e.sb.AddMessage(page.ID, sandbox.User{ID: "22000001", Name: "Ana"}, "open on Sunday?", time.Now().Add(-time.Minute))
	if conv == "" {
		t.Fatal("sandbox: conversation not made")
	}
	e.sb.BreakToken(page.ID, true)
	out, errOut, code := run(t, "enqueue", "-c", e.cfgPath, "--page", page.ID, "--conversation", conv, "--text", "hi")
	for _, want := range []string{
		"pagereply enqueue: Graph refused page " + page.ID + "'s access token, or a permission the conversation read needs: check pages[0].access_token",
		"pagereply enqueue: page " + page.ID + " is paused now for ",
		"pagereply resume -c FILE --page " + page.ID + " lifts it now",
	} {
		if code != exitError || !strings.Contains(errOut, want) {
			t.Errorf("enqueue --conversation with a refused token: exit %d, want %d and %q\n%s", code, exitError, want, errOut)
		}
	}
	if strings.Contains(out+errOut, page.Token) || strings.Contains(out+errOut, e2eAppSecret) {
		t.Fatal("a secret reached the output")
	}
}
