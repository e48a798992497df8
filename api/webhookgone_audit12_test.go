package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/proctest"
)

// TestWebhookSenderGoneLoggedOnce_audit12: with Redis slow (its calls
// outlasting the sender's wait: Meta asks for the answer within 5 s) the
// sender hangs up before the delivery is queued, and the queueing fails
// with "context canceled": logged at ERROR for every delivery, unspaced,
// where Redis away or past the delivery's deadline is an ERROR once per 10
// s. It must be spaced the same way.
func TestWebhookSenderGoneLoggedOnce_audit12(t *testing.T) {
	e := newWebhookEnv(t)
	logs := &proctest.Buffer{}
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: stuckIntake{}, Pages: e.pages,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}))
	t.Cleanup(srv.Close)
	page := e.pages[0].ID
	const n = 4
	for i := range n {
		body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]}]}`, page,
			commentChange(page, page+"_1", fmt.Sprintf("%s_1_%d", page, 900+i), "555", "add"))
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond) // the sender's wait, shortened
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/webhook", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("delivery %d answered %d before the sender left", i, resp.StatusCode)
		}
		cancel()
	}
	lines := func() (errs, debug int) { return queueItemLevels(logs.String()) }
	errs, debug := lines()
	for deadline := time.Now().Add(10 * time.Second); errs+debug < n && time.Now().Before(deadline); errs, debug = lines() {
		time.Sleep(20 * time.Millisecond)
	}
	if errs != 1 || debug != n-1 {
		t.Errorf("%d ERROR and %d DEBUG lines for %d deliveries whose sender left, want 1 and %d:\n%s", errs, debug, n, n-1, logs)
	}
}
