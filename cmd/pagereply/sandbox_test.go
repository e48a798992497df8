package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pagereply/pagereply/internal/proctest"
)

// waitFor polls buf until re matches, and returns the submatches.
func waitFor(t *testing.T, buf *proctest.Buffer, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(buf.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %v in %q", re, buf.String())
	return nil
}

// runInBackground runs a command's run function, with an empty environment
// and output buffers of its own, until ctx ends; its exit code arrives on
// done.
func runInBackground(ctx context.Context, run func(context.Context, *cmdEnv, []string) int, args ...string) (stdout, stderr *proctest.Buffer, done <-chan int) {
	stdout, stderr = new(proctest.Buffer), new(proctest.Buffer)
	env := &cmdEnv{stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }}
	code := make(chan int, 1)
	go func() { code <- run(ctx, env, args) }()
	return stdout, stderr, code
}

func TestSandboxCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout, stderr, done := runInBackground(ctx, runSandbox, "--addr", "127.0.0.1:0", "--pages", "2", "--posts", "3", "--comments", "4", "--seed", "5")
	addr := waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]

	var sendPage, sendComment, sendToken string
	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout %q: want one line per Page", stdout.String())
	}
	pageLine := regexp.MustCompile(`^page ([0-9]+) token (EAAB[A-Za-z0-9]+)$`)
	for _, l := range lines {
		m := pageLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("page line %q", l)
		}
		req, _ := http.NewRequest(http.MethodGet, addr+"/v25.0/"+m[1]+"/feed?fields=id,comments{id}", nil)
		req.Header.Set("Authorization", "Bearer "+m[2])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var feed struct {
			Data []struct {
				ID       string
				Comments struct {
					Data []struct{ ID string } `json:"data"`
				} `json:"comments"`
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&feed)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || len(feed.Data) != 3 {
			t.Fatalf("feed of %s: %d, %v, %+v", m[1], resp.StatusCode, err, feed)
		}
		if sendPage != "" {
			continue
		}
		// A private reply to a comment of the first Page, sent twice: Graph
		// takes the first and refuses the second (code 10900).
		for _, p := range feed.Data {
			if len(p.Comments.Data) > 0 {
				sendPage, sendComment, sendToken = m[1], p.Comments.Data[0].ID, m[2]
				break
			}
		}
		if sendPage == "" {
			t.Fatalf("no comment in the feed of %s", m[1])
		}
		form := url.Values{"recipient": {`{"comment_id":"` + sendComment + `"}`}, "message": {`{"text":"hi"}`}}
		for range 2 {
			req, _ := http.NewRequest(http.MethodPost, addr+"/v25.0/"+sendPage+"/messages", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+sendToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}

	// What the sandbox received, as someone trying pagereply by hand reads it.
	resp, err := http.Get(addr + "/_sandbox/stats")
	if err != nil {
		t.Fatal(err)
	}
	var st sandboxStatsBody
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("stats: %d %q %v", resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	if st.Sends != 1 || st.AlreadyReplied != 1 || st.Duplicates != 0 || st.Calls["feed"] != 2 || st.Calls["messages"] != 2 ||
		st.Calls["unknown"] != 0 || len(st.Pages) != 2 || st.Pages[sendPage].Sends != 1 || st.Pages[sendPage].MaxSendCallsIn1s != 2 {
		t.Fatalf("stats after two feeds and one reply sent twice: %+v", st)
	}
	if !strings.Contains(stderr.String(), "curl "+addr+"/_sandbox/stats") {
		t.Fatalf("stderr does not say where the stats are: %q", stderr.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK || !strings.Contains(stderr.String(), "sandbox stopped after 1 sends; 0 comments or posts got more than one private reply; 1 sends refused as already replied") {
			t.Fatalf("exit %d; stderr %q", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop on cancel")
	}
}

func TestSandboxCommandSameSeedSameTokens(t *testing.T) {
	run := func() string {
		ctx, cancel := context.WithCancel(context.Background())
		stdout, stderr, done := runInBackground(ctx, runSandbox, "--addr", "127.0.0.1:0", "--seed", "9")
		waitFor(t, stderr, regexp.MustCompile(`listening`))
		cancel()
		<-done
		return stdout.String()
	}
	if a, b := run(), run(); a != b || strings.Count(a, "\n") != 3 {
		t.Fatalf("two runs with one seed printed %q and %q", a, b)
	}
}

func TestSandboxCommandBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--nope"}, "nope"},
		{"fail above 1", []string{"--fail", "1.5"}, "--fail"},
		{"negative drop", []string{"--drop", "-0.1"}, "--drop"},
		{"negative rate", []string{"--rate", "-1"}, "--rate"},
		{"zero pages", []string{"--pages", "0"}, "--pages"},
		{"negative comments", []string{"--comments", "-3"}, "--comments"},
		{"bad latency", []string{"--latency", "soon"}, "latency"},
		{"extra argument", []string{"now"}, "now"},
		{"addr without a port", []string{"--addr", "127.0.0.1"}, "--addr \"127.0.0.1\" is not host:port"},
		{"addr port out of range", []string{"--addr", "127.0.0.1:99999"}, "--addr \"127.0.0.1:99999\" has no valid port"},
		{"addr not an IP", []string{"--addr", "256.1.1.1:8089"}, "--addr \"256.1.1.1:8089\" has \"256.1.1.1\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr proctest.Buffer
			env := &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			if code := runSandbox(context.Background(), env, tc.args); code != exitUsage {
				t.Fatalf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %q does not name %q", stderr.String(), tc.want)
			}
			if stdout.String() != "" {
				t.Fatalf("stdout %q", stdout.String())
			}
		})
	}
}

func TestSandboxCommandHelp(t *testing.T) {
	var stdout, stderr proctest.Buffer
	env := &cmdEnv{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := runSandbox(context.Background(), env, []string{"-h"}); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "-addr") {
		t.Fatalf("help %q", stdout.String())
	}
}
