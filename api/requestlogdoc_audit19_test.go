package api_test

import (
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestREADMERequestLogFields_audit19: deploy/README.md's What to watch
// names the fields of the api's request log line (`http request`: method,
// path, ...), which an operator's log queries use: they are the line's own
// keys. It named the body's size `size`, where the line has `bytes`.
func TestREADMERequestLogFields_audit19(t *testing.T) {
	readme, err := os.ReadFile("../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("\\(`http request`:\\s*([^)]*)\\)").FindSubmatch(readme)
	if m == nil {
		t.Fatal("deploy/README.md does not name the request log's fields (`http request`: ...)")
	}
	var documented []string
	for _, f := range strings.Split(string(m[1]), ",") {
		documented = append(documented, strings.Trim(strings.TrimSpace(f), "`"))
	}

	e := newEnv(t, func(p *api.Params) {
		p.Webhook = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") })
	})
	if resp, _ := e.request(t, "POST", "/webhook", "", ""); resp.StatusCode != 200 {
		t.Fatalf("POST /webhook: %d", resp.StatusCode)
	}
	var logged []string
	for k := range requestLogLine(t, e, "/webhook") {
		switch k {
		case "time", "level", "msg", "component", "repeated": // every line's, or a spaced line's
		default:
			logged = append(logged, k)
		}
	}
	slices.Sort(logged)
	slices.Sort(documented)
	if !slices.Equal(logged, documented) {
		t.Errorf("deploy/README.md names the request log's fields %v; the line has %v", documented, logged)
	}
}
