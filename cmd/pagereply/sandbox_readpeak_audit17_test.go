package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// TestSandboxStatsReadPeaks_audit17: with --read-rate, GET /_sandbox/stats
// says per Page the most reads in one second of each rate limit type
// (max_reads_in_1s: pages, messenger), as the read throttle counted them,
// beside max_send_calls_in_1s; refused reads are not counted; without
// --read-rate the key is absent and the others are unchanged.
func TestSandboxStatsReadPeaks_audit17(t *testing.T) {
	t.Run("command", func(t *testing.T) {
		// --read-rate 0.001: one read of each type per 1000 s, the next refused.
		base, pages, stop := startSandboxAudit(t, "--pages", "2", "--read-rate", "0.001")
		id, token := pages[0][0], pages[0][1]
		if code, body := sandboxGet(t, base, "/v25.0/"+id+"/feed", token, ""); code != http.StatusOK {
			t.Fatalf("first feed: %d %s", code, body)
		}
		if code, body := sandboxGet(t, base, "/v25.0/"+id+"/feed", token, ""); code != http.StatusBadRequest {
			t.Fatalf("second feed under --read-rate 0.001: %d %s", code, body)
		}
		if code, body := sandboxGet(t, base, "/v25.0/"+id+"/conversations", token, ""); code != http.StatusOK {
			t.Fatalf("conversations: %d %s", code, body)
		}
		raw, st := getStats(t, base)
		for _, k := range oldStatsKeys {
			if _, ok := raw[k]; !ok {
				t.Errorf("stats lost key %q: %v", k, raw)
			}
		}
		pg, _ := raw["pages"].(map[string]any)[id].(map[string]any)
		for _, k := range []string{"sends", "throttled", "max_send_calls_in_1s"} {
			if _, ok := pg[k]; !ok {
				t.Errorf("page stats lost key %q: %v", k, pg)
			}
		}
		if got := st.Pages[id].MaxReadsIn1s; !reflect.DeepEqual(got, map[string]int{"pages": 1, "messenger": 1}) {
			t.Errorf("max_reads_in_1s of the Page read: %v, want pages 1, messenger 1", got)
		}
		if got := st.Pages[pages[1][0]].MaxReadsIn1s; !reflect.DeepEqual(got, map[string]int{"pages": 0, "messenger": 0}) {
			t.Errorf("max_reads_in_1s of the Page not read: %v, want both 0", got)
		}
		if st.Pages[id].Throttled != 1 {
			t.Errorf("throttled: %d, want 1", st.Pages[id].Throttled)
		}
		if exit, errOut := stop(); exit != exitOK {
			t.Fatalf("exit %d, stderr %q", exit, errOut)
		}
	})

	// The sandbox's clock, moved by hand: three reads in a second fill
	// --read-rate 3, a fourth is refused.
	for _, readRate := range []float64{3, 0} {
		var mu sync.Mutex
		now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		sb := sandbox.New(sandbox.Options{Pages: 1, Posts: 2, Comments: 1, Conversations: 1, Seed: 1, ReadRate: readRate, Now: clock})
		mux := http.NewServeMux()
		mux.Handle("GET /_sandbox/stats", sandboxStats(sb, nil))
		mux.Handle("/", sb)
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		p := sb.Pages()[0]
		codes := []int{}
		for range 4 {
			code, _ := sandboxGet(t, srv.URL, "/v25.0/"+p.ID+"/feed", p.Token, "")
			codes = append(codes, code)
			mu.Lock()
			now = now.Add(100 * time.Millisecond)
			mu.Unlock()
		}
		raw, st := getStats(t, srv.URL)
		pg, _ := raw["pages"].(map[string]any)[p.ID].(map[string]any)
		if readRate == 0 {
			if _, ok := pg["max_reads_in_1s"]; ok || !reflect.DeepEqual(codes, []int{200, 200, 200, 200}) {
				t.Errorf("without --read-rate: reads %v, page stats %v, want no max_reads_in_1s", codes, pg)
			}
			continue
		}
		if !reflect.DeepEqual(codes, []int{200, 200, 200, 400}) {
			t.Fatalf("four reads in a second under --read-rate 3: %v", codes)
		}
		if got := st.Pages[p.ID].MaxReadsIn1s; !reflect.DeepEqual(got, map[string]int{"pages": 3, "messenger": 0}) {
			t.Errorf("max_reads_in_1s: %v, want pages 3, messenger 0", got)
		}
	}
}
