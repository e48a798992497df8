package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// countHook counts the round trips of a go-redis client: one a command, one
// a pipeline.
type countHook struct{ n *atomic.Int64 }

func (h countHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// startSlowProxy forwards TCP connections to target, holding each chunk a
// client writes for delay before passing it on (chunks keep their order and
// do not add up: a chunk waits delay from when it was read). Each round trip
// through it is delay slower, as with a Redis farther away.
func startSlowProxy(tb testing.TB, target string, delay time.Duration) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	type chunk struct {
		b  []byte
		at time.Time
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			q := make(chan chunk, 4096)
			wg.Add(3)
			go func() { // client -> queue
				defer wg.Done()
				defer close(q)
				for {
					buf := make([]byte, 64<<10)
					n, err := c.Read(buf)
					if n > 0 {
						q <- chunk{buf[:n], time.Now()}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() { // queue -> server, each chunk delay after it was read
				defer wg.Done()
				defer s.Close()
				for ch := range q {
					time.Sleep(time.Until(ch.at.Add(delay)))
					if _, err := s.Write(ch.b); err != nil {
						return
					}
				}
			}()
			go func() { // server -> client
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, s)
			}()
		}
	}()
	return ln.Addr().String()
}

// loadEnv is the webhook as `pagereply serve` wires it (an Enqueuer with an
// Inspector), its Redis clients counting their round trips, optionally
// through a slow proxy.
type loadEnv struct {
	addr  string // of Redis, not through the proxy
	db    int
	srv   *httptest.Server
	page  string
	trips atomic.Int64
	ping  time.Duration
}

func newLoadEnv(b testing.TB, delay time.Duration) *loadEnv {
	b.Helper()
	db := redistest.New(b)
	addr := db.Addr
	if delay > 0 {
		addr = startSlowProxy(b, db.Addr, delay)
	}
	e := &loadEnv{page: "100000000000001", addr: db.Addr, db: db.DB}
	opt := asynq.RedisClientOpt{Addr: addr, DB: db.DB, PoolSize: 64}
	// As app.go: asynq's client of opt (RESP3), the ledger's and the
	// inspector's client from tasks.NewRedisClient.
	crdb := redis.NewClient(&redis.Options{Addr: addr, DB: db.DB, PoolSize: 64})
	rdb := tasks.NewRedisClient(opt).(*redis.Client)
	for _, c := range []*redis.Client{crdb, rdb} {
		c.AddHook(countHook{&e.trips})
		b.Cleanup(func() { _ = c.Close() })
	}
	client := asynq.NewClientFromRedisClient(crdb)
	enq := &tasks.Enqueuer{Client: client, Ledger: tasks.NewLedger(rdb, tasks.LedgerOptions{}), MaxRetry: 3,
		Inspector: asynq.NewInspectorFromRedisClient(rdb)}
	pages := []config.Page{{ID: e.page, AccessToken: "t", Rate: config.Rate{N: 1000, Per: time.Second}, Burst: 1,
		ReplyTo: []string{config.ReplyComments}, MaxAge: 168 * time.Hour, DefaultText: "Thanks!"}}
	e.srv = httptest.NewServer(api.NewWebhook(api.WebhookParams{
		VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: enq, Pages: pages,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Deadline: 10 * time.Minute,
	}))
	b.Cleanup(e.srv.Close)
	ctx := context.Background()
	start := time.Now()
	for range 20 {
		if err := rdb.Ping(ctx).Err(); err != nil {
			b.Fatal(err)
		}
	}
	e.ping = time.Since(start) / 20
	return e
}

// body returns a delivery of n new comments numbered from first.
func (e *loadEnv) body(first, n int) string {
	changes := make([]string, n)
	for i := range changes {
		post := fmt.Sprintf("%s_%d", e.page, 7000000+(first+i)%10)
		changes[i] = commentChange(e.page, post, fmt.Sprintf("%d_%d", 7000000+(first+i)%10, 80000000+first+i), "5", "add")
	}
	return `{"object":"page","entry":[{"id":"` + e.page + `","time":1,"changes":[` + strings.Join(changes, ",") + `]}]}`
}

func (e *loadEnv) post(b testing.TB, body string) {
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/webhook", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("X-Hub-Signature-256", sign(whAppSecret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %d, want 200", resp.StatusCode)
	}
}

// BenchmarkWebhookDelivery1000 posts signed deliveries of 1,000 new
// comments: fresh (none queued yet) and redelivered (all queued already), on
// the test Redis directly and through a proxy adding 1 and 2 ms to each
// round trip. It reports the time a delivery takes (ms/delivery), the Redis
// round trips a change costs (trips/change) and a PING's round trip through
// the same path (ping_ms). Compare ms/delivery with DefaultDeliveryDeadline.
func BenchmarkWebhookDelivery1000(b *testing.B) {
	const n = 1000
	next := 0 // comment numbers are never reused: each fresh delivery is new
	for _, delay := range []time.Duration{0, time.Millisecond, 2 * time.Millisecond} {
		b.Run(fmt.Sprintf("rtt+%s", delay), func(b *testing.B) {
			e := newLoadEnv(b, delay)
			e.post(b, e.body(next, n)) // warms the scripts and the pools
			next += n
			report := func(b *testing.B, trips int64) {
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/delivery")
				b.ReportMetric(float64(trips)/float64(b.N*n), "trips/change")
				b.ReportMetric(float64(e.ping.Microseconds())/1000, "ping_ms")
				b.ReportMetric(0, "ns/op")
			}
			b.Run("fresh", func(b *testing.B) {
				bodies := make([]string, b.N)
				for i := range bodies {
					bodies[i] = e.body(next, n)
					next += n
				}
				t0 := e.trips.Load()
				b.ResetTimer()
				for i := range b.N {
					e.post(b, bodies[i])
				}
				b.StopTimer()
				report(b, e.trips.Load()-t0)
			})
			b.Run("redelivered", func(b *testing.B) {
				body := e.body(next, n)
				next += n
				e.post(b, body)
				t0 := e.trips.Load()
				b.ResetTimer()
				for range b.N {
					e.post(b, body)
				}
				b.StopTimer()
				report(b, e.trips.Load()-t0)
			})
		})
	}
}

// TestWebhookRedeliveryRoundTrips: a redelivery of a delivery whose 200
// comments are all queued already costs a few Redis round trips, not some
// per comment. It cost 3 a comment (the enqueue's TaskID conflict, then the
// Inspector's queue check and task read): on a Redis 3 ms away a
// redelivery of 1,000 comments took past the webhook's 8 s deadline, was
// answered 503, and so was every redelivery after it.
func TestWebhookRedeliveryRoundTrips(t *testing.T) {
	const n = 200
	e := newLoadEnv(t, 0)
	body := e.body(0, n)
	e.post(t, body)
	before := e.trips.Load()
	e.post(t, body)
	trips := e.trips.Load() - before
	if trips > n/10 {
		t.Fatalf("a redelivery of %d comments queued already cost %d Redis round trips, want a few (at most %d)", n, trips, n/10)
	}
	insp := asynq.NewInspector(asynq.RedisClientOpt{Addr: e.addr, DB: e.db})
	t.Cleanup(func() { _ = insp.Close() })
	info, err := insp.GetQueueInfo(tasks.QueuePolls)
	if err != nil || info.Size != n {
		t.Fatalf("%+v %v: want %d items queued, once each", info, err, n)
	}
}
