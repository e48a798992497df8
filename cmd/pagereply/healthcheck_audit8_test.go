package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestHealthcheckSaysWhyAudit8: a probe answered 503 in the API's error
// shape prints the answer's reason after the status (readiness says why it
// is not ready: Redis full, read-only, not answering), so that docker's
// health log shows "OOM" rather than a bare 503; a body in another shape, or
// a reason with control characters or of any length, prints nothing more
// than one line.
func TestHealthcheckSaysWhyAudit8(t *testing.T) {
	bodies := map[string]string{
		"/full":  `{"error":{"message":"redis refuses writes: out of memory (OOM: maxmemory reached under noeviction)"}}`,
		"/html":  `<html>bad gateway</html>`,
		"/evil":  `{"error":{"message":"line one\nline two\u001b[31m` + strings.Repeat("é", 300) + `"}}`,
		"/empty": `{"error":{"message":""}}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(bodies[r.URL.Path]))
	}))
	t.Cleanup(srv.Close)
	_, errOut, code := runInProcess(t, nil, "healthcheck", "--url", srv.URL+"/full")
	if want := "pagereply healthcheck: GET " + srv.URL + "/full: 503 Service Unavailable: redis refuses writes: out of memory (OOM: maxmemory reached under noeviction)\n"; code != exitError || errOut != want {
		t.Errorf("full Redis: exit %d, stderr %q, want %q", code, errOut, want)
	}
	for _, path := range []string{"/html", "/empty"} {
		_, errOut, _ = runInProcess(t, nil, "healthcheck", "--url", srv.URL+path)
		if want := "pagereply healthcheck: GET " + srv.URL + path + ": 503 Service Unavailable\n"; errOut != want {
			t.Errorf("%s: stderr %q, want %q", path, errOut, want)
		}
	}
	_, errOut, _ = runInProcess(t, nil, "healthcheck", "--url", srv.URL+"/evil")
	if strings.Count(errOut, "\n") != 1 || strings.ContainsRune(errOut, 0x1b) || !strings.Contains(errOut, "line oneline two") || len(errOut) > 400 {
		t.Errorf("a reason with control characters and 300 runes: stderr %q", errOut)
	}
}
