package api

import (
	"bufio"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestMonitorErrorsPassThrough: with Redis up, monitorErrors leaves asynqmon's
// answers as they are: a streamed 200 reaches the client chunk by chunk (a
// flush is not held back), and a 500 that is neither an unknown queue nor
// Redis away goes out with its status and body, also when the body is longer
// than what it holds back.
func TestMonitorErrorsPassThrough(t *testing.T) {
	db := redistest.New(t)
	s := &Server{log: slog.New(slog.DiscardHandler), ready: tasks.NewPinger(db.Client, 0)}
	next := make(chan struct{})
	long := strings.Repeat("x", 3*maxHeldError)
	mux := http.NewServeMux()
	mux.HandleFunc("/monitor/api/stream", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-next:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "second\n")
	})
	mux.HandleFunc("/monitor/api/boom", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/monitor/api/long", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, long, http.StatusInternalServerError)
	})
	srv := httptest.NewServer(s.monitorErrors(mux))
	t.Cleanup(srv.Close)

	resp, err := http.Get(srv.URL + "/monitor/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	start := time.Now()
	if line, err := br.ReadString('\n'); err != nil || line != "first\n" || resp.StatusCode != 200 {
		t.Fatalf("stream: %d %q %v", resp.StatusCode, line, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the first chunk came after %s: the flush was held back", took)
	}
	close(next)
	if line, err := br.ReadString('\n'); err != nil || line != "second\n" {
		t.Fatalf("stream, second chunk: %q %v", line, err)
	}

	for path, want := range map[string]string{"/monitor/api/boom": "boom\n", "/monitor/api/long": long + "\n"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 500 || string(b) != want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q, %d bytes; want asynqmon's 500 as it is (%d bytes)", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(b), len(want))
		}
	}
}
