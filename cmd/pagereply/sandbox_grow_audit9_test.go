package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxCommandGrowMoreAudit9: --grow-reels, --grow-removals and
// --grow-hides make --grow add Reels, comments on them, removals and hides
// (and shows again); --webhook delivers each removal and hide as its verb
// and no Reel nor comment on one; --grow-for stops adding while the sandbox
// serves and delivers on; --grow-log has a line for every item added and
// every delivery answered 2xx; GET /_sandbox/sends answers the send log;
// the output lines are those --grow always wrote.
func TestSandboxCommandGrowMoreAudit9(t *testing.T) {
	const secret = "sandbox-grow-more-secret-9"
	var mu sync.Mutex
	verbs := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Verb, Item string
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		_ = json.NewDecoder(r.Body).Decode(&d)
		mu.Lock()
		for _, e := range d.Entry {
			for _, c := range e.Changes {
				verbs[c.Value.Verb]++
			}
		}
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	logPath := filepath.Join(t.TempDir(), "grow.jsonl")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, stderr, done := runSandboxWithSecret(ctx, secret, "--addr", "127.0.0.1:0", "--pages", "2", "--posts", "2", "--comments", "2",
		"--conversations", "1", "--seed", "9", "--grow", "400/s", "--grow-for", "2s", "--grow-reels", "--grow-removals", "--grow-hides",
		"--grow-log", logPath, "--webhook", hook.URL+"/webhook")
	addr := waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]

	// Growth stops by itself; the deliveries of what it added all end.
	var st sandboxStatsBody
	eventually(t, 60*time.Second, "growth stopped and delivered", func() bool {
		_, a := getStats(t, addr)
		time.Sleep(5 * sandboxGrowTick)
		_, b := getStats(t, addr)
		st = b
		return a.Grown == b.Grown && b.Grown.Comments > 0 && b.Webhook != nil && *a.Webhook == *b.Webhook
	})
	g := st.Grown
	if g.Reels == 0 || g.ReelComments == 0 || g.Removed == 0 || g.Hidden == 0 || g.Unhidden == 0 {
		t.Fatalf("grown %+v: want Reels, comments on Reels, removals, hides, shows again", g)
	}
	if st.Webhook.Failed != 0 || st.Webhook.Dropped != 0 {
		t.Fatalf("webhook %+v", st.Webhook)
	}
	mu.Lock()
	got := map[string]int{}
	for k, v := range verbs {
		got[k] = v
	}
	mu.Unlock()
	// Every comment not on a Reel and every post is delivered as add.
	if got["add"] != g.Comments-g.ReelComments+g.Posts || got["remove"] != g.Removed || got["hide"] != g.Hidden || got["unhide"] != g.Unhidden {
		t.Fatalf("deliveries by verb %v; grown %+v", got, g)
	}

	resp, err := http.Get(addr + "/_sandbox/sends")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) != 0 {
		t.Fatalf("sends of a sandbox nothing sent to: %d %q", resp.StatusCode, body)
	}
	cancel()
	code := <-done
	out := stderr.String()
	if code != exitOK || !regexp.MustCompile(`\nsandbox stopped after 0 sends; 0 comments or posts got more than one private reply; 0 sends refused as already replied; 0 throttled\nsandbox added [0-9]+ comments \([0-9]+ of them replies\), [0-9]+ posts, [0-9]+ messages\nwebhook deliveries: [0-9]+ delivered, [0-9]+ retries, 0 failed, 0 dropped\n$`).MatchString(out) {
		t.Fatalf("exit %d, stderr %q", code, out)
	}
	if strings.Contains(out, secret) {
		t.Fatal("the app secret in the output")
	}

	f, err := os.Open(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l growLogLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.At.IsZero() || l.PageID == "" {
			t.Fatalf("grow log line %q: %v", sc.Text(), err)
		}
		events[l.Event+" "+l.Kind+" "+l.Verb]++
		if l.Event == "delivered" && (l.Kind == sandbox.KindReel || l.Reel && l.Verb == "") {
			t.Fatalf("delivered %q", sc.Text())
		}
	}
	grown := events["grown comment "] + events["grown post "] + events["grown conversation "]
	if grown != g.Comments+g.Posts+g.Messages || events["grown reel "] != g.Reels || events["grown comment remove"] != g.Removed ||
		events["delivered comment hide"] != g.Hidden || events["delivered comment unhide"] != g.Unhidden ||
		int64(events["delivered comment "]+events["delivered post "]+events["delivered comment remove"]+events["delivered comment hide"]+events["delivered comment unhide"]) != st.Webhook.Delivered {
		t.Fatalf("grow log %v; grown %+v, webhook %+v", events, g, st.Webhook)
	}
}

// TestSandboxCommandGrowMoreFlagsAudit9: the new flags change what --grow
// adds: without --grow each is a usage error.
func TestSandboxCommandGrowMoreFlagsAudit9(t *testing.T) {
	for _, args := range [][]string{{"--grow-reels"}, {"--grow-removals"}, {"--grow-hides"}, {"--grow-for", "1m"}, {"--grow-log", "x.jsonl"}} {
		_, stderr, done := runSandboxWithSecret(context.Background(), "", append([]string{"--addr", "127.0.0.1:0"}, args...)...)
		if code := <-done; code != exitUsage || !strings.Contains(stderr.String(), "give --grow too") {
			t.Fatalf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}
