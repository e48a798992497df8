package sandbox

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bigOptions is the Page a later benchmark uses: 2,000 posts, 100,000 comments.
var bigOptions = Options{Posts: 2000, Comments: 50, Seed: 30}

func TestLargePageIsCheap(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 comments")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	sb := New(bigOptions)
	built := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	mb := float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
	t.Logf("2,000 posts and 100,000 comments: %.1f MB, built in %v", mb, built)
	if mb > 32 {
		t.Errorf("the store takes %.1f MB, want at most 32", mb)
	}
	runtime.KeepAlive(sb)
}

func BenchmarkCommentsPage(b *testing.B) {
	sb := New(Options{Posts: 1, Comments: 100000, Seed: 31})
	p := sb.Pages()[0]
	post := sb.Posts(p.ID)[0].ID
	h := sb.Handler()
	// Walk deep into the listing once, so the benchmark pages from the middle.
	req, _ := http.NewRequest(http.MethodGet, "http://sandbox/v25.0/"+post+"/comments?filter=stream&order=reverse_chronological&limit=100&fields=id,created_time,can_reply_privately,from,message,parent", nil)
	req.Header.Set("Authorization", "Bearer "+p.Token)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// BenchmarkSend measures one private reply as the worker sends it: a form
// body with the token, answered 200 with the message id.
func BenchmarkSend(b *testing.B) {
	sb := New(Options{Posts: 1, Seed: 32})
	p := sb.Pages()[0]
	post := sb.Posts(p.ID)[0].ID
	bodies := make([]string, b.N)
	for i := range bodies {
		id := sb.AddComment(post, User{ID: "7", Name: "Bench"}, "hi", time.Now())
		f := sendForm(map[string]string{"comment_id": id}, "hi")
		f.Set("access_token", p.Token)
		bodies[i] = f.Encode()
	}
	h := sb.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req, _ := http.NewRequest(http.MethodPost, "http://sandbox/v25.0/"+p.ID+"/messages", strings.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := &discard{h: http.Header{}}
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("send answered %d", w.status)
		}
	}
}

type discard struct {
	h      http.Header
	status int
}

func (d *discard) Header() http.Header { return d.h }
func (d *discard) Write(p []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return io.Discard.Write(p)
}

func (d *discard) WriteHeader(code int) {
	if d.status == 0 {
		d.status = code
	}
}
