// Package webhooktest runs Meta's webhook path end to end for tests: a
// signed delivery POSTed over loopback to the api's webhook, its items
// queued in a real Redis and run by a real asynq worker that reads the
// Graph sandbox, and a wait for the queues to settle.
package webhooktest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// Env is a webhook and a worker on one test database, behind sb.
type Env struct {
	SB     *sandbox.Sandbox
	Insp   *asynq.Inspector
	hook   *httptest.Server
	secret string
}

// Start serves the webhook of pages (signed with secret) and starts a
// worker with its poll handler, both on a database of their own, reading
// sb; both stop at the test's end.
func Start(t *testing.T, sb *sandbox.Sandbox, pages []config.Page, secret string) *Env {
	t.Helper()
	db := redistest.New(t)
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	gsrv := httptest.NewServer(sb)
	t.Cleanup(gsrv.Close)
	client := asynq.NewClient(opt)
	t.Cleanup(func() { _ = client.Close() })
	e := &Env{SB: sb, Insp: asynq.NewInspector(opt), secret: secret}
	t.Cleanup(func() { _ = e.Insp.Close() })
	ledger := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	enq := &tasks.Enqueuer{Client: client, Ledger: ledger, MaxRetry: 3, Inspector: e.Insp}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	e.hook = httptest.NewServer(api.NewWebhook(api.WebhookParams{VerifyToken: "verify-" + secret, AppSecret: secret,
		Intake: enq, Hidden: ledger, Pages: pages, Logger: quiet}))
	t.Cleanup(e.hook.Close)
	g := graph.New(graph.Config{BaseURL: gsrv.URL, Timeout: 2 * time.Second})
	w := worker.New(worker.Params{
		Redis: opt, Ledger: ledger, Enqueuer: enq, Graph: g, Pages: pages, Concurrency: 5, Logger: quiet,
		ShutdownTimeout: 2 * time.Second,
		Poll:            worker.NewPollHandler(worker.PollParams{Graph: g, Ledger: ledger, Enqueuer: enq, Pages: pages, Logger: quiet}),
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Shutdown(context.Background()) })
	return e
}

// Deliver POSTs body signed as Meta signs it (X-Hub-Signature-256) and
// fails the test unless it is answered 200.
func (e *Env) Deliver(t *testing.T, body string) {
	t.Helper()
	m := hmac.New(sha256.New, []byte(e.secret))
	m.Write([]byte(body))
	req, err := http.NewRequest(http.MethodPost, e.hook.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("delivery answered %d, want 200", resp.StatusCode)
	}
}

// Settled waits, up to 20 s, for the queues to be idle with at least want
// sends in the sandbox, and returns the targets of every send, sorted.
func (e *Env) Settled(t *testing.T, want int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		busy := 0
		for _, q := range []string{tasks.QueuePolls, tasks.QueueReplies} {
			if info, err := e.Insp.GetQueueInfo(q); err == nil {
				busy += info.Pending + info.Active + info.Scheduled + info.Retry
			}
		}
		var got []string
		for _, s := range e.SB.Sends() {
			got = append(got, s.Target)
		}
		slices.Sort(got)
		if busy == 0 && len(got) >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}
