package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// Results is what `pagereply bench --json FILE` writes: each mode's medians
// and every run behind them, and the machine they ran on. Modes run one at a
// time merge into the same file, so the plotter (bench/perfplot) can read a
// pipeline run and a latency run together.
type Results struct {
	Machine  *Machine                `json:"machine,omitempty"`
	Pipeline []PipelineRow           `json:"pipeline,omitempty"`
	Latency  *Section[LatencyResult] `json:"latency,omitempty"`
	Rate     *Section[[]RatePoint]   `json:"rate,omitempty"`
	Poll     *Section[PollFigures]   `json:"poll,omitempty"`
	Redis    *Section[RedisResult]   `json:"redis,omitempty"`
	Pages    *Section[PagesResult]   `json:"pages,omitempty"`
}

// Section is one mode's median figures and the runs they come from.
type Section[T any] struct {
	Median T   `json:"median"`
	Runs   []T `json:"runs"`
}

// PipelineRow is the pipeline comparison at one concurrency: medians of the
// runs.
type PipelineRow struct {
	Concurrency int              `json:"concurrency"`
	N           int              `json:"n"`
	BarePerSec  float64          `json:"bare_asynq_per_s"`
	PipePerSec  float64          `json:"pipeline_per_s"`
	Ratio       float64          `json:"ratio"`
	Runs        []PipelineResult `json:"runs"`
}

// PipelineRowOf folds the runs at one concurrency into their medians (the
// ratio is the median of each run's own ratio, both halves measured on the
// same Redis back to back).
func PipelineRowOf(runs []PipelineResult) PipelineRow {
	if len(runs) == 0 {
		return PipelineRow{}
	}
	var bare, pipe, ratio []float64
	for _, r := range runs {
		bare, pipe, ratio = append(bare, r.BarePerSec), append(pipe, r.PipePerSec), append(ratio, r.Ratio)
	}
	return PipelineRow{Concurrency: runs[0].Concurrency, N: runs[0].N, BarePerSec: Median(bare), PipePerSec: Median(pipe),
		Ratio: Median(ratio), Runs: runs}
}

// PollFigures are the headline figures of a RunPoll, for tables and JSON.
type PollFigures struct {
	Posts    int `json:"posts"`
	Comments int `json:"comments"`
	// FirstCalls and SecondCalls are Graph calls (feed and comments) of the
	// first poll and of the second, after new comments on a few posts.
	FirstCalls  int `json:"first_calls"`
	SecondCalls int `json:"second_calls"`
	// FirstSeconds and SecondSeconds are the polls' durations.
	FirstSeconds  float64 `json:"first_s"`
	SecondSeconds float64 `json:"second_s"`
	// ScannedPerSec is comments seen per second by the first poll.
	ScannedPerSec float64 `json:"first_scanned_per_s"`
	// PeakLiveHeapMiB is the first poll's own peak live heap; HeapGrowth its
	// ratio to that of a poll of a tenth of the comments.
	PeakLiveHeapMiB float64 `json:"peak_live_heap_mib"`
	HeapGrowth      float64 `json:"heap_growth"`
}

// PollFiguresOf extracts the figures of r's full run.
func PollFiguresOf(r PollResult) PollFigures {
	f := r.Full
	calls := func(m map[string]int) int { return m[sandbox.EndpointFeed] + m[sandbox.EndpointComments] }
	out := PollFigures{Posts: f.Posts, Comments: f.Comments, FirstCalls: calls(f.FirstCalls), SecondCalls: calls(f.SecondCalls),
		FirstSeconds: f.FirstDuration.Seconds(), SecondSeconds: f.SecondDuration.Seconds(),
		PeakLiveHeapMiB: float64(f.PeakLiveHeap) / (1 << 20), HeapGrowth: r.HeapGrowth}
	if f.FirstDuration > 0 {
		out.ScannedPerSec = float64(f.FirstSeen) / f.FirstDuration.Seconds()
	}
	return out
}

// MedianPollFigures is the figure-by-figure median of several runs.
func MedianPollFigures(runs []PollFigures) PollFigures {
	if len(runs) == 0 {
		return PollFigures{}
	}
	m := func(get func(PollFigures) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = get(r)
		}
		return Median(xs)
	}
	out := runs[0]
	out.FirstCalls = int(m(func(p PollFigures) float64 { return float64(p.FirstCalls) }))
	out.SecondCalls = int(m(func(p PollFigures) float64 { return float64(p.SecondCalls) }))
	out.FirstSeconds = m(func(p PollFigures) float64 { return p.FirstSeconds })
	out.SecondSeconds = m(func(p PollFigures) float64 { return p.SecondSeconds })
	out.ScannedPerSec = m(func(p PollFigures) float64 { return p.ScannedPerSec })
	out.PeakLiveHeapMiB = m(func(p PollFigures) float64 { return p.PeakLiveHeapMiB })
	out.HeapGrowth = m(func(p PollFigures) float64 { return p.HeapGrowth })
	return out
}

// MedianRedisResults is the figure-by-figure median of several runs (the
// per-command and per-owner maps included); OtherClients is the most seen.
func MedianRedisResults(runs []RedisResult) RedisResult {
	if len(runs) == 0 {
		return RedisResult{}
	}
	m := func(get func(RedisResult) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = get(r)
		}
		return Median(xs)
	}
	calls := func(get func(RedisResult) Calls) Calls {
		out := Calls{ByCommand: map[string]float64{}}
		out.Commands = m(func(r RedisResult) float64 { return get(r).Commands })
		out.RoundTrips = m(func(r RedisResult) float64 { return get(r).RoundTrips })
		for _, r := range runs {
			for k := range get(r).ByCommand {
				out.ByCommand[k] = m(func(r RedisResult) float64 { return get(r).ByCommand[k] })
			}
		}
		return out
	}
	out := RedisResult{N: runs[0].N, Commands: map[string]float64{}, Owners: map[string]Calls{}}
	out.QueuedUsedMemory = m(func(r RedisResult) float64 { return r.QueuedUsedMemory })
	out.QueuedKeyMemory = m(func(r RedisResult) float64 { return r.QueuedKeyMemory })
	out.SentUsedMemory = m(func(r RedisResult) float64 { return r.SentUsedMemory })
	out.SentKeyMemory = m(func(r RedisResult) float64 { return r.SentKeyMemory })
	out.LedgerEntry = m(func(r RedisResult) float64 { return r.LedgerEntry })
	out.RetainedTask = m(func(r RedisResult) float64 { return r.RetainedTask })
	out.Drain = m(func(r RedisResult) float64 { return r.Drain })
	for _, r := range runs {
		for k := range r.Commands {
			out.Commands[k] = m(func(r RedisResult) float64 { return r.Commands[k] })
		}
		for o := range r.Owners {
			out.Owners[o] = calls(func(r RedisResult) Calls { return r.Owners[o] })
		}
		out.OtherClients = max(out.OtherClients, r.OtherClients)
	}
	for _, v := range out.Commands {
		out.CommandsTotal += v
	}
	out.BookkeepingPerSec = calls(func(r RedisResult) Calls { return r.BookkeepingPerSec })
	out.BookkeepingPerReply = calls(func(r RedisResult) Calls { return r.BookkeepingPerReply })
	return out
}

// ReadResults reads a results file; a missing file reads as empty.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Results{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench: read results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bench: results %s: %w", path, err)
	}
	return &r, nil
}

// UpdateResults reads the results file at path (if any), lets update change
// it, and writes it back: each mode replaces its own section only.
func UpdateResults(path string, update func(*Results)) error {
	r, err := ReadResults(path)
	if err != nil {
		return err
	}
	update(r)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: write results: %w", err)
	}
	return nil
}

// Machine describes where the figures were measured.
type Machine struct {
	CPU       string  `json:"cpu"`
	Cores     int     `json:"cores"`
	MemoryGiB float64 `json:"memory_gib"`
	Go        string  `json:"go"`
	Redis     string  `json:"redis"`
	OS        string  `json:"os"`
	Date      string  `json:"date"`
}

// String writes the machine on one line.
func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores, %.0f GiB, %s, Redis %s, %s, %s", m.CPU, m.Cores, m.MemoryGiB, m.Go, m.Redis, m.OS, m.Date)
}

// DescribeMachine reads the CPU model and memory from /proc (Linux; blank
// elsewhere), the Go version, and the Redis server's version.
func DescribeMachine(ctx context.Context, rdb redis.UniversalClient) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		Date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	m.CPU = procField("/proc/cpuinfo", "model name")
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(v, " kB"), 64)
		m.MemoryGiB = kb / (1 << 20)
	}
	if info, err := rdb.Info(ctx, "server").Result(); err == nil {
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "redis_version:"); ok {
				m.Redis = v
			}
		}
	}
	return m
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
