package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/tasks"
)

// FuzzPostReplies sends arbitrary bodies through the whole POST /v1/replies
// handler (decoder, validation, enqueue on an embedded Redis): never a panic,
// never a 5xx, always the JSON error shape for a 4xx.
func FuzzPostReplies(f *testing.F) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(mr.Close)
	opt := asynq.RedisClientOpt{Addr: mr.Addr()}
	rdb := tasks.NewRedisClient(opt)
	f.Cleanup(func() { _ = rdb.Close() })
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{})
	client := asynq.NewClient(opt)
	f.Cleanup(func() { _ = client.Close() })
	insp := asynq.NewInspector(opt)
	f.Cleanup(func() { _ = insp.Close() })
	s := api.New(api.Params{
		Tokens:    []string{testToken},
		Enqueuer:  &tasks.Enqueuer{Client: client, Ledger: ledger},
		Ledger:    ledger,
		Inspector: insp,
		Pages:     []config.Page{{ID: "100", AccessToken: "secret-page-token"}},
		MaxBody:   8 << 10,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	h := s.Handler()
	for _, seed := range []string{
		`{"page_id":"100","comment_id":"1_2","text":"hi"}`,
		`{"page_id":"100","post_id":"100_2","text":"hi"}`,
		`{"page_id":"100","conversation_id":"t_1","text":"hi"}`,
		`{"replies":[{"page_id":"100","comment_id":"1_3","text":"a"},{"page_id":"x"},null,[],"s",1]}`,
		`{"replies":null}`, `{"replies":{}}`, `{"page_id":null}`, `{"text":"\u0000"}`,
		`{"page_id":"100","comment_id":"1_2","text":"hi"}{}`, `[]`, `"x"`, `{`, ``, `{"a":1,"a":2}`,
		`{"page_id":"100","comment_id":"` + strings.Repeat("9", 300) + `","text":"x"}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/v1/replies", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		var ans struct {
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &ans); err != nil {
			t.Fatalf("answer is not JSON for %q: %s", body, rec.Body)
		}
		if rec.Code >= 400 && (ans.Error == nil || ans.Error.Message == "") {
			t.Fatalf("status %d without the error shape for %q: %s", rec.Code, body, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "secret-page-token") {
			t.Fatalf("token in answer: %s", rec.Body)
		}
	})
}
