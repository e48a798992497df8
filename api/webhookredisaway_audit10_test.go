package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/tasks"
)

// awayIntake fails every item as a Redis out of reach does (a refused dial).
type awayIntake struct{}

func (awayIntake) EnqueueWebhookItem(context.Context, tasks.WebhookItem) (tasks.Outcome, error) {
	return "", fmt.Errorf("enqueue webhook item: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
}

// TestWebhookRedisAwayLoggedOnce_audit10: with Redis away every delivery
// fails alike and is answered 503 (Meta delivers it again); its "webhook:
// queue item" line is an ERROR once per 10 s and debug for the others, as
// the API's "api: enqueue" is, not an ERROR per delivery.
func TestWebhookRedisAwayLoggedOnce_audit10(t *testing.T) {
	e := newWebhookEnv(t)
	logs := &proctest.Buffer{}
	srv := httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: awayIntake{}, Pages: e.pages,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}))
	t.Cleanup(srv.Close)
	e.srv = srv
	page := e.pages[0].ID
	for i := 0; i < 10; i++ {
		body := fmt.Sprintf(`{"object":"page","entry":[{"id":%q,"time":1,"changes":[%s]}]}`, page,
			commentChange(page, page+"_1", fmt.Sprintf("%s_1_%d", page, 900+i), "555", "add"))
		if code, out := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)}); code != http.StatusServiceUnavailable {
			t.Fatalf("delivery %d: %d %s, want 503", i, code, out)
		}
	}
	errs, debug := queueItemLevels(logs.String())
	if errs != 1 || debug != 9 {
		t.Errorf("%d ERROR and %d DEBUG lines for 10 deliveries with Redis away, want 1 and 9:\n%s", errs, debug, logs)
	}
}

// queueItemLevels counts the "webhook: queue item" lines of a text log at
// ERROR and at DEBUG.
func queueItemLevels(logs string) (errs, debug int) {
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "webhook: queue item") {
			continue
		}
		switch {
		case strings.Contains(line, "level=ERROR"):
			errs++
		case strings.Contains(line, "level=DEBUG"):
			debug++
		}
	}
	return errs, debug
}
