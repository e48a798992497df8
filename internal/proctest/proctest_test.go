package proctest

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestProcKillRestart: a process is killed, restarted with the same
// arguments, stopped with SIGTERM; its log holds every run.
func TestProcKillRestart(t *testing.T) {
	p := Start(t, "/bin/sh", "sleeper", []string{"PROCTEST_WORD=hello"}, "-c", `echo "$PROCTEST_WORD $$"; exec sleep 60`)
	if err := WaitFor(10*time.Second, "first output", func() bool { return strings.Contains(p.Log(), "hello ") }); err != nil {
		t.Fatal(err)
	}
	if err := p.Alive(); err != nil {
		t.Fatal(err)
	}
	if err := p.Restart(); err == nil {
		t.Fatal("Restart of a running process succeeded")
	}
	p.Kill()
	if p.Running() || p.Alive() == nil || p.Kills() != 1 {
		t.Fatalf("after Kill: running %v, kills %d", p.Running(), p.Kills())
	}
	if err := p.Restart(); err != nil {
		t.Fatal(err)
	}
	if err := WaitFor(10*time.Second, "second output", func() bool { return strings.Count(p.Log(), "hello ") == 2 }); err != nil {
		t.Fatal(err)
	}
	if code, err := p.Stop(10 * time.Second); err != nil || code == 0 {
		t.Fatalf("Stop: code %d, %v; want a non-zero code (killed by SIGTERM)", code, err)
	}
	if n := strings.Count(p.Log(), "=== proctest: sleeper run "); n != 2 || p.Starts() != 2 {
		t.Fatalf("%d run markers, %d starts; want 2:\n%s", n, p.Starts(), p.Log())
	}
	runs := 0
	if err := p.Lines(func(l []byte) bool { runs += strings.Count(string(l), "=== proctest:"); return true }); err != nil || runs != 2 {
		t.Fatalf("Lines: %d markers, %v", runs, err)
	}
}

func TestProcStopTimeout(t *testing.T) {
	p := Start(t, "/bin/sh", "stubborn", nil, "-c", `trap "" TERM; echo "ready $$"; while :; do sleep 0.1; done`)
	// Not "ready" alone: the run's marker line quotes the arguments.
	if err := WaitFor(10*time.Second, "ready", func() bool { return strings.Contains(p.Log(), "\nready ") }); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Stop(300 * time.Millisecond); !errors.Is(err, ErrStillRunning) {
		t.Fatalf("Stop: %v, want ErrStillRunning", err)
	}
	if p.Running() {
		t.Fatal("still running after Stop gave up")
	}
}

func TestRun(t *testing.T) {
	res := Run(t, "/bin/sh", 10*time.Second, "-c", "echo out; echo err >&2; exit 3")
	if res.Stdout != "out\n" || res.Stderr != "err\n" || res.Code != 3 {
		t.Fatalf("%+v", res)
	}
}

func TestTail(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		n        int
		want     string
	}{
		{"fewer lines", "a\nb\n", 5, "a\nb"},
		{"last two", "a\nb\nc\n", 2, "b\nc"},
		{"no newline", "a\nb\nc", 1, "c"},
		{"empty", "", 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Tail(tc.in, tc.n); got != tc.want {
				t.Fatalf("Tail(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

// TestConfigYAML: the written file is a valid pagereply configuration that
// says what the Config says.
func TestConfigYAML(t *testing.T) {
	c := Config{
		RedisURL: "redis://127.0.0.1:6379/3", GraphURL: "http://127.0.0.1:9", AppSecret: "s3cret",
		GraphTimeout: 3 * time.Second, Concurrency: 7, MaxRetry: 4,
		APIAddr: "127.0.0.1:8088", APITokens: []string{"a-long-api-token-0123456789"}, VerifyToken: "vt",
		Pages: []Page{{ID: "1234", AccessToken: "tok", Schedule: "@every 2s", Rate: "20/s", Burst: 2,
			ReplyTo: []string{"comments", "posts"}, Rules: []Rule{{Match: `(?i)price\b`, Text: `Hi {{.FirstName}}, "prices" are online.`}},
			DefaultText: "Thanks, {{.FirstName}}!"}},
	}
	cfg, err := config.Parse([]byte(c.YAML()), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("%v\n%s", err, c.YAML())
	}
	p := cfg.Pages[0]
	if cfg.Redis.URL != c.RedisURL || cfg.Graph.BaseURL != c.GraphURL || cfg.Graph.Timeout != c.GraphTimeout ||
		cfg.Worker.Concurrency != 7 || cfg.Worker.MaxRetry != 4 || cfg.API.Tokens[0] != c.APITokens[0] ||
		p.ID != "1234" || p.Rate.PerSecond() != 20 || p.Burst != 2 || len(p.ReplyTo) != 2 ||
		p.Rules[0].Text != c.Pages[0].Rules[0].Text || p.DefaultText != c.Pages[0].DefaultText || cfg.Log.Level != "debug" {
		t.Fatalf("parsed config differs:\n%s\n%+v", c.YAML(), cfg)
	}
	path := WriteConfig(t, c)
	if b, err := os.ReadFile(path); err != nil || string(b) != c.YAML() {
		t.Fatalf("WriteConfig: %v", err)
	}
}
