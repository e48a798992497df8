package api_test

import (
	"bytes"
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
// never a 5xx, always the JSON error shape for a 4xx. encoding/json itself
// would take an object that names a field twice (the last value wins): a
// reply taken (202 or 409, alone or in a batch) names none twice, as
// encoding/json matches names to fields, and an answer that a field is given
// twice is right.
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
		`{"page_id":"100","comment_id":"1_4","comment_id":"1_5","text":"hi"}`,
		`{"page_id":"100","comment_id":"1_4","Comment_ID":"1_5","text":"hi"}`,
		`{"page_id":"100","comment_id":"1_4","comment\u005fid":null,"text":"hi"}`,
		`{"page_id":"100","post_id":"100_4","po\u017ft_id":"100_5","text":"hi"}`,
		`{"replies":[{"page_id":"100","comment_id":"1_6","TEXT":"a","text":"b"}]}`,
		`{"replies":[{"page_id":"100","comment_id":"1_7","text":"a"}],"replies":[{"page_id":"100","comment_id":"1_8","text":"b"}]}`,
		`{"replies":[],"r\u0065plies":[{"page_id":"100","comment_id":"1_9","text":"b"}]}`,
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
				Field   string `json:"field"`
			} `json:"error"`
			Results []struct {
				Status int `json:"status"`
				Error  *struct {
					Message string `json:"message"`
					Field   string `json:"field"`
				} `json:"error"`
			} `json:"results"`
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

		given := func(item []byte, status int, field, msg string) {
			t.Helper()
			twice := fieldsTwice(item)
			taken := status == 202 || status == 409
			if taken && len(twice) > 0 {
				t.Fatalf("status %d though %v is given twice in %q: %s", status, twice, body, rec.Body)
			}
			if f := field[strings.LastIndexByte(field, '.')+1:]; strings.HasPrefix(msg, f+" is given twice") && !twice[f] {
				t.Fatalf("%s is not given twice in %q: %s", f, body, rec.Body)
			}
		}
		switch {
		case rec.Code == 207:
			var batch struct {
				Replies []json.RawMessage `json:"replies"`
			}
			if n := countName(body, "replies"); n != 1 || json.Unmarshal([]byte(body), &batch) != nil ||
				len(batch.Replies) != len(ans.Results) {
				t.Fatalf("status 207 for %d replies members in %q: %s", n, body, rec.Body)
			}
			for i, r := range ans.Results {
				var field, msg string
				if r.Error != nil {
					field, msg = r.Error.Field, r.Error.Message
				}
				given(batch.Replies[i], r.Status, field, msg)
			}
		case ans.Error != nil && ans.Error.Field == "replies" && strings.HasPrefix(ans.Error.Message, "replies is given twice"):
			if countName(body, "replies") < 2 {
				t.Fatalf("replies is not given twice in %q: %s", body, rec.Body)
			}
		case ans.Error != nil:
			given([]byte(body), rec.Code, ans.Error.Field, ans.Error.Message)
		default:
			given([]byte(body), rec.Code, "", "")
		}
	})
}

// memberNames lists the names of the members of the JSON object b, read by
// encoding/json's own tokenizer; nil when b is no object.
func memberNames(b []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return names
		}
		names = append(names, tok.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return names
		}
	}
	return names
}

func countName(body, name string) int {
	n := 0
	for _, m := range memberNames([]byte(body)) {
		if m == name {
			n++
		}
	}
	return n
}

// fieldsTwice returns the fields of api.ReplyRequest that more than one member
// of the object b fills, asking encoding/json which field each name fills.
func fieldsTwice(b []byte) map[string]bool {
	twice, seen := map[string]bool{}, map[string]bool{}
	for _, name := range memberNames(b) {
		k, _ := json.Marshal(name)
		var r api.ReplyRequest
		if json.Unmarshal([]byte(`{`+string(k)+`:"x"}`), &r) != nil {
			continue
		}
		for _, f := range []struct{ v, name string }{
			{r.PageID, "page_id"}, {r.CommentID, "comment_id"}, {r.PostID, "post_id"},
			{r.ConversationID, "conversation_id"}, {r.Text, "text"},
		} {
			if f.v != "" {
				twice[f.name] = seen[f.name]
				seen[f.name] = true
			}
		}
	}
	for f, ok := range twice {
		if !ok {
			delete(twice, f)
		}
	}
	return twice
}
