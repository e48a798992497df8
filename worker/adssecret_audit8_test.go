package worker_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/worker"
)

// TestAdsPostsRefusalHoldsNoTokenAudit8: the text of an ads_posts refusal
// goes into the poll's report (the poll task's result, which the monitor
// shows) and a WARN line. Graph's error texts can echo the request (an
// access_token, an appsecret_proof): this Graph refuses the edge with a
// message, a user message and a trace that hold the Page's token, and
// neither the report nor any log line may hold it; the feed is still read.
func TestAdsPostsRefusalHoldsNoTokenAudit8(t *testing.T) {
	f := newAdsFixture(t, 8820, true)
	token := f.page.AccessToken
	upstream, err := url.Parse(f.h.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/ads_posts") {
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":{"message":"(#200) Requires pages_manage_ads for GET /ads_posts?access_token=` + token +
			`","type":"OAuthException","code":200,"error_user_msg":"token ` + token + ` lacks a permission","fbtrace_id":"A` + token + `"}}`))
	}))
	t.Cleanup(echo.Close)

	var logs proctest.Buffer
	p := f.h.pollParams([]config.Page{f.page})
	p.Graph = graph.New(graph.Config{BaseURL: echo.URL, Timeout: 5 * time.Second})
	p.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rep, err := worker.NewPoller(p).Poll(context.Background(), f.page.ID, false)
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	if rep.AdsPostsNotRead == "" || rep.Enqueued() != len(f.feed) {
		t.Fatalf("report: ads posts not read %q, %d queued; want a refusal and the feed's %d", rep.AdsPostsNotRead, rep.Enqueued(), len(f.feed))
	}
	if strings.Contains(rep.AdsPostsNotRead, token) {
		t.Errorf("the poll's report (its task result) holds the Page's token: %q", rep.AdsPostsNotRead)
	}
	if !strings.Contains(logs.String(), "ads posts not read") {
		t.Fatalf("no line says the ads posts were not read:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("a log line holds the Page's token:\n%s", logs.String())
	}
}
