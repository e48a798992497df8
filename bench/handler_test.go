package bench

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// BenchmarkReplyHandler measures pagereply's own cost per reply, without
// asynq: the reply handler (reserve, send to the in-process sandbox, mark)
// called from 50 goroutines. go-cpu-µs/op and redis-cpu-µs/op are the CPU
// each reply costs in this process and in Redis; their sum against bare
// asynq's per-task CPU (`pagereply bench pipeline` prints both) bounds the
// pipeline's ratio on a machine whose cores both share.
func BenchmarkReplyHandler(b *testing.B) {
	db := redistest.New(b)
	ctx := context.Background()
	sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 1, Comments: 0, Seed: 1})
	page := sb.Pages()[0]
	postID := sb.Posts(page.ID)[0].ID
	payloads := make([][]byte, b.N)
	for i := range payloads {
		id := sb.AddComment(postID, sandbox.User{ID: strconv.Itoa(1000000 + i), Name: "Bench Person"}, "hello", time.Now())
		r := tasks.Reply{PageID: page.ID, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Thanks!",
			Source: tasks.SourcePoll, EnqueuedAt: time.Now().UnixMilli()}
		p, err := json.Marshal(r)
		if err != nil {
			b.Fatal(err)
		}
		payloads[i] = p
	}
	tr := newServerTransport(sb, 16)
	defer tr.close()
	gclient := graph.New(graph.Config{BaseURL: "http://sandbox.invalid", HTTPClient: &http.Client{Transport: tr}})
	opt := asynq.RedisClientOpt{Addr: db.Addr, DB: db.DB}
	rdb := tasks.NewRedisClient(opt)
	defer rdb.Close()
	ledger := tasks.NewLedger(rdb, tasks.LedgerOptions{Batch: true})
	defer ledger.Close()
	w := worker.New(worker.Params{Redis: opt, Ledger: ledger, Graph: gclient,
		Pages:  []config.Page{{ID: page.ID, AccessToken: page.Token, Burst: 1}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	h := w.Handler()
	var next atomic.Int64
	b.SetParallelism(25) // 50 goroutines on 2 cores
	cpu := startCPU(ctx, rdb)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if err := h.ProcessTask(ctx, asynq.NewTask(tasks.TypeReply, payloads[i])); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	cost := cpu.per(ctx, b.N)
	b.ReportMetric(float64(cost.Go.Nanoseconds())/1000, "go-cpu-µs/op")
	b.ReportMetric(float64(cost.Redis.Nanoseconds())/1000, "redis-cpu-µs/op")
	if got := len(sb.Sends()); got != b.N {
		b.Fatalf("sandbox recorded %d sends for %d replies", got, b.N)
	}
}
