package api

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestMonitorAwayLogRedactsPath_audit15: while Redis does not answer, the
// monitor's 503 logs the path asked and asynqmon's error, and logged the
// path as the client wrote it. The request log hides a path holding a
// secret of the configuration (redactedValue); this line did not, nor
// asynqmon's error, which may quote the path's queue name.
func TestMonitorAwayLogRedactsPath_audit15(t *testing.T) {
	const secret = "00000000"
	var logs proctest.Buffer
	s := &Server{log: slog.New(slog.NewJSONHandler(&logs, nil)), ready: tasks.NewPinger(redistest.Refused(t), 0), secrets: []string{secret}}
	mux := http.NewServeMux()
	mux.HandleFunc("/monitor/api/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "dial failed for queue "+secret, http.StatusInternalServerError)
	})
	srv := httptest.NewServer(s.monitorErrors(mux))
	t.Cleanup(srv.Close)
	resp, body := getAnswer(t, srv.URL+"/monitor/api/queues/"+secret+"/pending_tasks")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("monitor with Redis away: %d %s, want 503", resp.StatusCode, body)
	}
	if !strings.Contains(logs.String(), "monitor: redis does not answer") || strings.Contains(logs.String(), secret) || strings.Contains(body, secret) {
		t.Errorf("the monitor's line with Redis away shows the path's secret:\n%s\nanswer: %s", logs.String(), body)
	}
}
