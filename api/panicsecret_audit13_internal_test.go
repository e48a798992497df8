package api

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPanicLogWithoutSecrets_audit13: a handler that panicked is logged
// with its request's path, the client's: a path holding one of the
// configuration's secrets (GET /v1/replies/comment:<a Page's token>) wrote
// the secret into the ERROR line, as the request log did before 211517e.
// The path, and a panic's value holding one, are logged without it.
func TestPanicLogWithoutSecrets_audit13(t *testing.T) {
	const secret = "EAABpageTokenForThePanicAudit13"
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	h := recoverPanics(log, []string{secret}, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		panic("cannot handle " + r.URL.Path)
	}))
	for _, p := range []string{"/v1/replies/comment:" + secret, "/" + strings.Repeat("x", 190) + secret} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p, nil))
		if rec.Code != http.StatusInternalServerError {
			t.Fatalf("panicked handler answered %d, want 500", rec.Code)
		}
	}
	out := logs.String()
	if strings.Count(out, "api: handler panicked") != 2 {
		t.Fatalf("the panics were not logged:\n%s", out)
	}
	for _, s := range []string{secret, secret[:10]} {
		if strings.Contains(out, s) {
			t.Errorf("the panic log holds the secret (%.6s...):\n%s", s, out)
		}
	}
}
