package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestMonitorRedisAway: while Redis does not answer, the monitor's API
// answers 503 in the API's error shape, as every other route does, not
// asynqmon's 500 with the raw dial error (which names Redis's address); once
// Redis is back it answers 200 again.
func TestMonitorRedisAway(t *testing.T) {
	db := redistest.New(t)
	cut := redistest.NewCut(t, db.Addr)
	opt := asynq.RedisClientOpt{Addr: cut.Addr(), DB: db.DB, DialTimeout: time.Second}
	rdb := tasks.NewRedisClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	e := newEnv(t, func(p *api.Params) {
		p.Redis = rdb
		p.RedisConnOpt = opt
	})
	if resp, body := e.request(t, "GET", "/monitor/api/queues", testToken, ""); resp.StatusCode != 200 {
		t.Fatalf("monitor with Redis up: %d %s", resp.StatusCode, body)
	}

	cut.Down()
	for _, path := range []string{"/monitor/api/queues", "/monitor/api/queues/replies/archived_tasks", "/monitor/api/redis_info"} {
		resp, body := e.request(t, "GET", path, testToken, "")
		status, m := resp.StatusCode, errBody(t, body)
		if status != 503 || errMessage(m) != "monitor unavailable (Redis unavailable); try again" ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s with Redis away: %d %q %s; want 503 and the API's error", path, status, resp.Header.Get("Content-Type"), body)
		}
		if strings.Contains(string(body), cut.Addr()) || strings.Contains(string(body), "dial") {
			t.Errorf("%s with Redis away passes the raw error on: %s", path, body)
		}
	}

	cut.Up()
	if resp, body := e.request(t, "GET", "/monitor/api/queues", testToken, ""); resp.StatusCode != 200 {
		t.Fatalf("monitor with Redis back: %d %s", resp.StatusCode, body)
	}
}

// TestMonitorUnknownQueue: the monitor's API answers a queue that does not
// exist with 404 in the API's error shape, not asynqmon's 500 "queue not
// found": the request is at fault, not the server. A queue that exists is
// still listed with 200, and asynqmon's own 404s pass through.
func TestMonitorUnknownQueue(t *testing.T) {
	e := newEnv(t, nil)
	// The first enqueue makes the replies queue exist.
	if status, m := e.do(t, "POST", "/v1/replies", testToken, `{"page_id":"`+e.page.ID+`","post_id":"`+e.page.ID+`_1","text":"x"}`); status != 202 {
		t.Fatalf("enqueue: %d %v", status, m)
	}
	// The queue's page and a task of it too: before, 500 "NOT_FOUND: queue
	// ... does not exist" and a plain-text 404.
	for _, path := range []string{"/monitor/api/queues/nosuch/archived_tasks", "/monitor/api/queues/nosuch/pending_tasks",
		"/monitor/api/queues/nosuch", "/monitor/api/queues/nosuch/tasks/abc"} {
		resp, body := e.request(t, "GET", path, testToken, "")
		m := errBody(t, body)
		if resp.StatusCode != 404 || !strings.Contains(errMessage(m), `"nosuch"`) ||
			!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %q %s; want 404 and the API's error naming the queue", path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// A task the queue does not have: 404 in the API's error shape too.
	resp, body := e.request(t, "GET", "/monitor/api/queues/replies/tasks/nosuch", testToken, "")
	if errBody(t, body); resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("unknown task: %d %q %s; want 404 in the API's error shape", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, body = e.request(t, "GET", "/monitor/api/queues/replies/pending_tasks", testToken, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"tasks"`) {
		t.Fatalf("a queue that exists: %d %s", resp.StatusCode, body)
	}
}

// errBody decodes an error answer of the API, failing t when it is not one.
func errBody(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil || errMessage(m) == "" {
		t.Errorf("not the API's error shape (%v): %s", err, body)
	}
	return m
}
