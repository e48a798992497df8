package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestBatchRedisDownTriesOnce: with Redis away, a batch answers every item
// 503 after trying the first only: each try waits Redis out (seconds), and
// before, a batch tried its items one after another, 100 items taking 19 s
// and a batch of 500 passing any client's timeout with no answer at all.
func TestBatchRedisDownTriesOnce(t *testing.T) {
	e, cut := newCutEnv(t, nil)
	var items []string
	for i := range 20 {
		items = append(items, fmt.Sprintf(`{"page_id":%q,"comment_id":"9%d_1","text":"hi"}`, e.page.ID, i))
	}
	items = append(items, `{"page_id":"1","comment_id":"9_1","text":"hi"}`) // bad: its own 400
	cut.Down()
	resp, b := e.request(t, "POST", "/v1/replies", testToken, `{"replies":[`+strings.Join(items, ",")+`]}`)
	var br api.BatchResponse
	if err := json.Unmarshal(b, &br); err != nil || resp.StatusCode != 207 || len(br.Results) != len(items) {
		t.Fatalf("answer %d %s (%v)", resp.StatusCode, b, err)
	}
	for i, r := range br.Results[:20] {
		if r.Status != 503 {
			t.Errorf("item %d: %d, want 503", i, r.Status)
		}
	}
	if r := br.Results[20]; r.Status != 400 {
		t.Errorf("the bad item: %d, want its own 400", r.Status)
	}
	if n := strings.Count(e.logs.String(), `"msg":"api: enqueue"`); n != 1 {
		t.Errorf("%d enqueue attempts met Redis away, want 1 (the rest of the batch not tried)", n)
	}
}

// newCutEnv is newEnv whose ledger and enqueuer reach Redis through a cut
// (redistest.Cut), for tests of Redis going away; tweak, if set, changes
// the rest of the params.
func newCutEnv(t *testing.T, tweak func(*api.Params)) (*env, *redistest.Cut) {
	t.Helper()
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	e := newEnv(t, func(p *api.Params) {
		opt := asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB}
		rdb := tasks.NewRedisClient(opt)
		t.Cleanup(func() { _ = rdb.Close() })
		l := tasks.NewLedger(rdb, tasks.LedgerOptions{})
		c := asynq.NewClient(opt)
		t.Cleanup(func() { _ = c.Close() })
		p.Ledger = l
		p.Enqueuer = &tasks.Enqueuer{Client: c, Ledger: l, MaxRetry: 3}
		if tweak != nil {
			tweak(p)
		}
	})
	return e, cut
}
