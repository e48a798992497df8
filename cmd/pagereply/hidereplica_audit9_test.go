package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redisproc"
	"github.com/pagereply/pagereply/tasks"
)

// TestWebhookHideReachesReplicaAudit9: on a Sentinel set-up the API's
// webhook answers Meta's hide and unhide of a comment (a Page with
// skip_hidden) with 200 only once a replica holds what they wrote in the
// ledger, as a worker sends only once a replica holds its claim: Meta does
// not deliver a change answered 200 again, and a failover to a replica
// without the hide mark would let the hidden comment's reply go out, one
// without the unhide would keep the mark (a reply missed for the ledger's 8
// days). While the replica is frozen (connected, silent) each change is
// answered 503; delivered again once it answers, 200, and the replica holds
// the result. Before, both were answered 200 at once with the replica frozen.
func TestWebhookHideReachesReplicaAudit9(t *testing.T) {
	s := redisproc.StartSentinel(t)
	e := newE2EPages(t, sandbox.Options{Pages: 1, Seed: 9131}, func(_ int, p sandbox.Page) string {
		return fmt.Sprintf(`  - id: "%s"
    access_token: "%s"
    schedule: "@every 1m"
    reply_to: [comments]
    skip_hidden: true
    default_text: "Thanks!"
`, p.ID, p.Token)
	})
	cfg := *e.cfg
	cfg.Redis = config.Redis{Sentinel: &config.Sentinel{Master: s.MasterName(), Addrs: s.SentinelAddrs()}}
	a, err := newApp(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	r, err := startRoles(context.Background(), a, roleSet{api: true}, roleOptions{insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.shutdown(context.Background()) })

	page := e.sb.Pages()[0].ID
	comment := page + "_913100"
	deliver := func(verb string) int {
		t.Helper()
		body := `{"object":"page","entry":[{"id":"` + page + `","time":1,"changes":[{"field":"feed","value":{"item":"comment","verb":"` + verb +
			`","comment_id":"` + comment + `","post_id":"` + page + `_1","from":{"id":"6300000","name":"Ada Visitor"}}}]}]}`
		mac := hmac.New(sha256.New, []byte(e2eAppSecret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, "http://"+e.api+"/webhook", strings.NewReader(body))
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	eventually(t, 15*time.Second, "the API", func() bool {
		resp, err := http.Get("http://" + e.api + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	replica := s.Replica()
	onReplica := tasks.NewLedger(replica.Client(), tasks.LedgerOptions{})
	target := tasks.Target{Kind: tasks.KindComment, ID: comment}
	ctx := context.Background()

	for _, step := range []struct {
		verb string
		want tasks.Status
	}{{"hide", tasks.StatusFailed}, {"unhide", tasks.StatusNone}} {
		replica.Pause()
		code := deliver(step.verb)
		replica.Resume()
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s with the replica frozen: %d, want 503 (Meta delivers it again): answered before a replica held it, a failover would lose it", step.verb, code)
		}
		if code := deliver(step.verb); code != http.StatusOK {
			t.Fatalf("%s delivered again, the replica back: %d, want 200", step.verb, code)
		}
		if e, err := onReplica.Get(ctx, page, target); err != nil || e.Status != step.want {
			t.Errorf("after the %s the replica holds %+v, %v; want %s", step.verb, e, err, step.want)
		}
	}
}
