package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
)

// TestEnqueueConversationGraphNoAnswerNamesBaseURL_audit22: enqueue
// --conversation with nothing listening at graph.base_url (a loopback port
// that refuses connections) said only "Graph did not answer the
// conversation read; try again", naming no URL: the user could not tell
// which graph.base_url was tried. It now names the URL and its key, as
// pagereply poll does, and never the token, the app secret or an
// appsecret_proof.
func TestEnqueueConversationGraphNoAnswerNamesBaseURL_audit22(t *testing.T) {
	db := redistest.New(t)
	base := "http://" + freeAddr(t)
	cfg := filepath.Join(t.TempDir(), "pagereply.yaml")
	yaml := "redis:\n  url: " + db.URL() + "\n" +
		"graph:\n  base_url: " + base + "\n  app_secret: \"appsecretappsecret42\"\n" +
		"pages:\n  - id: \"123\"\n    access_token: \"EAABtokentoken\"\n    default_text: \"hi\"\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
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
