package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
)

// newE2EPages starts a sandbox seeded with opts over loopback, locks a Redis
// test database and writes a config file for them; pageYAML gives the list
// item of the i-th seeded Page under pages: (indented two spaces, ending in a
// newline). The rest of the config (Graph with the app secret, worker, webhook,
// API with a token, debug JSON logs) is the same for every end-to-end test.
func newE2EPages(t *testing.T, opts sandbox.Options, pageYAML func(i int, p sandbox.Page) string) *e2e {
	t.Helper()
	db := redistest.New(t)
	opts.AppSecret = e2eAppSecret
	sb := sandbox.New(opts)
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	e := &e2e{sb: sb, graph: gs.URL, db: db, api: freeAddr(t)}
	var pages strings.Builder
	for i, p := range sb.Pages() {
		pages.WriteString(pageYAML(i, p))
		e.secrets = append(e.secrets, p.Token)
	}
	e.secrets = append(e.secrets, e2eAPIToken, e2eAppSecret, e2eVerifyToken)
	yaml := fmt.Sprintf(`redis:
  url: %s
graph:
  base_url: %s
  app_secret: %s
  timeout: 3s
pages:
%sworker:
  concurrency: 10
  max_retry: 3
webhook:
  verify_token: %s
api:
  addr: %s
  tokens: ["%s"]
log:
  level: debug
  format: json
`, db.URL(), gs.URL, e2eAppSecret, pages.String(), e2eVerifyToken, e.api, e2eAPIToken)
	e.cfgPath = filepath.Join(t.TempDir(), "pagereply.yaml")
	if err := os.WriteFile(e.cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e.cfg = cfg
	return e
}
