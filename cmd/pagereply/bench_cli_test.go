package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/bench"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/redistest"
)

// TestBenchModes runs every `pagereply bench` mode of the built binary on a
// tiny load: each prints its closing figures and records its JSON section.
// `bench rate` starts real `pagereply worker` processes of the same binary.
func TestBenchModes(t *testing.T) {
	t.Parallel() // mostly waits on the bench processes
	cases := []struct {
		mode string
		args []string
		want []string
	}{
		{"pipeline", []string{"-n", "300", "--concurrency", "5,10"}, []string{"bare_asynq_per_s:", "ratio:"}},
		{"latency", []string{"--rates", "100", "--duration", "300ms", "--pages", "5", "--concurrency", "10"},
			[]string{"TaskCheckInterval", "latency_p99_ms_at_100:"}},
		{"rate", []string{"--rates", "20", "--workers", "1", "--duration", "500ms"}, []string{"rate_worst_window_over_allowed:"}},
		{"redis", []string{"-n", "200", "--pages", "2", "--idle", "200ms"}, []string{"redis_bytes_per_queued_reply:", "redis_round_trips_per_reply:"}},
		{"pages", []string{"--pages", "10", "--per-page", "5", "--duration", "300ms", "--concurrency", "10"}, []string{"pages_p99_ms:"}},
		{"poll", []string{"--posts", "20", "--comments", "200", "--new", "10", "--touched", "2"}, []string{"first_poll_comments_per_s:"}},
		{"all", []string{"--skip", "pipeline,rate,poll,redis,pages", "--duration", "200ms"}, []string{"== latency ==", "== all: medians of 1 runs =="}},
	}
	jsonPath := filepath.Join(t.TempDir(), "results.json")
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			db := redistest.New(t)
			args := append([]string{"bench", tc.mode, "--redis", db.URL(), "--runs", "1", "--json", jsonPath}, tc.args...)
			out, errOut, code := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			if n, err := db.Client.DBSize(context.Background()).Result(); err != nil || n != 0 {
				t.Errorf("the database holds %d keys after the bench (%v)", n, err)
			}
		})
	}
	r, err := bench.ReadResults(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if r.Machine == nil || len(r.Pipeline) != 2 || r.Latency == nil || r.Rate == nil || r.Redis == nil || r.Pages == nil || r.Poll == nil {
		t.Fatalf("results file lacks a section: %+v", r)
	}
}

// TestBenchPipelineClosingLines: the last three lines stay exactly as scripts
// read them, for a list of concurrencies too (those of 50).
func TestBenchPipelineClosingLines(t *testing.T) {
	db := redistest.New(t)
	out, errOut, code := run(t, "bench", "pipeline", "--redis", db.URL(), "--runs", "1", "-n", "200", "--concurrency", "50,10")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tail := strings.Join(lines[len(lines)-3:], "\n")
	if !regexp.MustCompile(`^bare_asynq_per_s: \d+\npipeline_per_s: \d+\nratio: \d+\.\d\d$`).MatchString(tail) {
		t.Fatalf("closing lines:\n%s", tail)
	}
	var row50 string
	for _, l := range lines {
		if strings.HasPrefix(l, "50 ") {
			row50 = l
		}
	}
	if f := strings.Fields(row50); len(f) < 5 || !strings.Contains(tail, "bare_asynq_per_s: "+f[3]+"\n") {
		t.Errorf("closing lines are not the concurrency-50 row %q:\n%s", row50, tail)
	}
}

// TestBenchRefusesData: a database holding keys is refused unless --flush.
func TestBenchRefusesData(t *testing.T) {
	db := redistest.New(t)
	if err := db.Client.Set(context.Background(), "someone:else", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	args := []string{"bench", "latency", "--redis", db.URL(), "--runs", "1", "--rates", "50", "--duration", "200ms", "--pages", "3"}
	_, errOut, code := run(t, args...)
	if code != 2 || !strings.Contains(errOut, "--flush") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --flush", code, errOut)
	}
	if _, errOut, code = run(t, append(args, "--flush")...); code != 0 {
		t.Fatalf("with --flush: exit %d: %s", code, errOut)
	}
	for _, args := range [][]string{{"bench", "nope"}, {"bench", "rate", "--workers", "0"}, {"bench", "pipeline", "--concurrency", "x"}} {
		if _, _, code := run(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	for m := range benchModes {
		if out, errOut, code := run(t, "bench", m, "-h"); code != 0 || !strings.Contains(out, "Example:") || errOut != "" {
			t.Errorf("bench %s -h: exit %d, stdout:\n%s\nstderr:\n%s", m, code, out, errOut)
		}
	}
}

// TestConfigNotAFile: -c naming a missing file or a directory is the user's
// to fix: exit 2, which systemd's RestartPreventExitStatus=2 does not restart.
func TestConfigNotAFile(t *testing.T) {
	for _, path := range []string{t.TempDir(), filepath.Join(t.TempDir(), "missing.yaml")} {
		if _, errOut, code := run(t, "worker", "-c", path); code != 2 || !strings.Contains(errOut, path) {
			t.Errorf("-c %s: exit %d, stderr %q; want 2 naming the path", path, code, errOut)
		}
	}
}

// TestDemoBadAddr: a --addr that is not host:port is bad usage, named as the
// flag (it was an error in a config the user never wrote, exit 1).
func TestDemoBadAddr(t *testing.T) {
	for _, addr := range []string{"nonsense", "127.0.0.1:99999", "127.0.0.1:http"} {
		if _, errOut, code := run(t, "demo", "--once", "--addr", addr); code != 2 || !strings.Contains(errOut, "--addr") || strings.Contains(errOut, "DEMO_") {
			t.Errorf("demo --addr %s: exit %d, stderr %q; want 2 naming --addr", addr, code, errOut)
		}
	}
}

// TestConfigErrorNamesFileOnce: a config error names its file once
// ("pagereply: config F: config F: ..." before).
func TestConfigErrorNamesFileOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "typo.yaml")
	if err := os.WriteFile(path, []byte("wroker: {}\npages: [{id: \"1\", access_token: x}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, filepath.Join(t.TempDir(), "missing.yaml")} {
		_, errOut, code := run(t, "worker", "-c", p)
		if code != 2 || strings.Count(errOut, p) != 1 || strings.Contains(errOut, "config: config") {
			t.Errorf("-c %s: exit %d, stderr %q; want 2 naming the file once", p, code, errOut)
		}
	}
}

// TestTextlessPages: a Page with neither rules nor default_text is named, so
// serve can say its polls queue nothing.
func TestTextlessPages(t *testing.T) {
	got := textlessPages([]config.Page{
		{ID: "1", DefaultText: "Thanks!"},
		{ID: "2"},
		{ID: "3", Rules: []config.Rule{{Match: "price", Text: "See example.com"}}},
		{ID: "4", DefaultText: "  "},
	})
	if strings.Join(got, ",") != "2,4" {
		t.Fatalf("textlessPages = %v, want 2 and 4", got)
	}
}
