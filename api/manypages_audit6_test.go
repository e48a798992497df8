package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestGetReplyOfManyPagesPipelined: with an agency's thousands of Pages,
// GET /v1/replies/{id} of a reply whose task is gone (an hour after it
// finished), or of an unknown id, looks in every Page's ledger in a few
// pipelines: one GET per Page made each such request 3,000 round trips
// (0.2 s on an idle local Redis with 5,000 Pages, seconds at a remote one).
func TestGetReplyOfManyPagesPipelined(t *testing.T) {
	const n = 3000
	gets := redistest.Counter{Match: func(c redis.Cmder) bool { return strings.EqualFold(c.Name(), "get") }}
	var ledger *tasks.Ledger
	var pages []string
	e := newEnv(t, func(p *api.Params) {
		rdb := p.Ledger.Client().(*redis.Client)
		hooked := redis.NewClient(rdb.Options())
		t.Cleanup(func() { _ = hooked.Close() })
		hooked.AddHook(&gets)
		ledger = tasks.NewLedger(hooked, tasks.LedgerOptions{})
		p.Ledger = ledger
		for i := range n - 1 {
			id := strconv.Itoa(7200000000000000 + i)
			p.Pages = append(p.Pages, config.Page{ID: id, AccessToken: "EAAB" + id})
		}
		for _, pg := range p.Pages {
			pages = append(pages, pg.ID)
		}
	})
	ctx := context.Background()
	owner := pages[n-5]
	key := fmt.Sprintf("pagereply:{%s}:t:comment:%s_9", owner, owner)
	if err := ledger.Client().Set(ctx, key, fmt.Sprintf("s|%d|m_AbF", time.Now().UnixMilli()), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	before := gets.Single.Load()
	st, m := e.do(t, http.MethodGet, "/v1/replies/comment:"+owner+"_9", testToken, "")
	if st != http.StatusOK || m["state"] != "sent" || m["page_id"] != owner || m["message_id"] != "m_AbF" {
		t.Fatalf("GET of a sent reply whose task is gone: %d %v, want 200 sent on page %s", st, m, owner)
	}
	if st, m := e.do(t, http.MethodGet, "/v1/replies/comment:1_2", testToken, ""); st != http.StatusNotFound {
		t.Fatalf("GET of an unknown reply: %d %v, want 404", st, m)
	}
	if got := gets.Single.Load() - before; got > n/10 {
		t.Fatalf("two GETs over %d Pages took %d single ledger reads, want them pipelined", n, got)
	}
}
