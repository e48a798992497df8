package api_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// lateOnce is a go-redis hook delaying the first pipeline that reads a
// pause key (Ledger.Paused) by late, then running before, as a Redis away
// for a moment would answer a request's pause check.
type lateOnce struct {
	late   time.Duration
	before func()
	done   atomic.Bool
}

func (h *lateOnce) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h *lateOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h *lateOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "pttl" && len(c.Args()) > 1 && strings.HasSuffix(c.Args()[1].(string), ":pause") && h.done.CompareAndSwap(false, true) {
				time.Sleep(h.late)
				h.before()
				break
			}
		}
		return next(ctx, cmds)
	}
}

// TestConversationReadRetakeKeepsMaxWait_audit16: a request whose pause
// check, after its conversation read slot came, was answered late takes a
// new slot (GuardedConversationReply). It had waited maxWait and more by
// then; the new slot was taken waiting up to maxWait again, so a request
// (or a batch's item, whose maxWait is what is left of the batch's time)
// waited past what it may (a single request: 2 s, then 503 with the time
// to its slot). The new slot, further than what is left of maxWait, is
// answered as any slot too far: a *ReadLaterError (held for the
// conversation), with no read.
func TestConversationReadRetakeKeepsMaxWait_audit16(t *testing.T) {
	db := redistest.New(t)
	plain := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	t.Cleanup(plain.Close)
	sb := sandbox.New(sandbox.Options{Pages: 1, Conversations: 1, Seed: 1616})
	gs := httptest.NewServer(sb)
	t.Cleanup(gs.Close)
	g := graph.New(graph.Config{BaseURL: gs.URL, Timeout: 2 * time.Second})
	p := sb.Pages()[0]
	page := &config.Page{ID: p.ID, AccessToken: p.Token, Rate: config.Rate{N: 10, Per: time.Second}, Burst: 1}
	conv := sb.Conversations(p.ID)[0]
	ctx := context.Background()
	lim := worker.ConversationReadLimit(page)
	const maxWait = 2 * time.Second
	take := func() time.Duration {
		t.Helper()
		wait, err := plain.TakeReadKey(ctx, page.ID, "reads:conversations", lim)
		if err != nil {
			t.Error(err)
			return time.Hour
		}
		return wait
	}
	take() // the request's slot is the next one, an interval ahead (books one)

	hook := &lateOnce{late: maxWait + time.Second, before: func() {
		// While Redis was away, other requests' slots filled the
		// schedule a second ahead: within maxWait, past what is left of
		// it (nothing).
		for i := 0; i < 10 && take() < time.Second; i++ {
		}
	}}
	rdb := redis.NewClient(&redis.Options{Addr: db.Addr, DB: db.DB})
	t.Cleanup(func() { _ = rdb.Close() })
	rdb.AddHook(hook)
	l := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	t.Cleanup(l.Close)

	var reply tasks.Reply
	err := api.GuardedConversationReply(ctx, l, metrics.New(), g, page, conv.ID, time.Now, &reply, maxWait, slog.New(slog.DiscardHandler))
	if !hook.done.Load() {
		t.Fatal("the request's pause check was never made: its slot was not waited for")
	}
	var later *api.ReadLaterError
	if !errors.As(err, &later) {
		t.Fatalf("got %v, want a *ReadLaterError: the request, past its maxWait once its pause check came back, waited for a new slot again", err)
	}
}
