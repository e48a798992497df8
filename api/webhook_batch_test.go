package api_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pagereply/pagereply/api"
)

// metaEscape writes s as Meta's webhook bodies do: every non-ASCII rune as a
// \uXXXX escape (Meta signs "an escaped unicode version of the payload").
func metaEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

// TestWebhookFullMetaBatch: Meta batches up to 1,000 updates in one delivery.
// 1,000 new comments of 168 Cyrillic characters each, escaped as Meta escapes
// them (6 bytes a character) and with the post object Meta adds to a
// comment's change, make about 1.4 MB: the delivery is taken and every
// comment queued. With a 1 MiB limit it was refused 413, delivered again and
// refused again, and none of its comments was queued.
func TestWebhookFullMetaBatch(t *testing.T) {
	e := newWebhookEnv(t)
	page := e.pages[0].ID
	msg := metaEscape(strings.Repeat("Здравствуйте, ", 12))
	now := time.Now().Unix()
	entries := make([]string, 0, 1000)
	for i := 0; i < 1000; i++ {
		post := fmt.Sprintf("%s_%d", page, 7000000+i%10)
		comment := fmt.Sprintf("%d_%d", 7000000+i%10, 8100000+i)
		entries = append(entries, fmt.Sprintf(`{"id":%q,"time":%d,"changes":[{"value":{"from":{"id":"%d","name":"\u0410\u043d\u043d\u0430"},`+
			`"post":{"status_type":"added_photos","is_published":true,"updated_time":"2026-12-01T10:00:00+0000","permalink_url":"https://www.facebook.com/%s","promotion_status":"inactive","id":%q},`+
			`"message":"%s","post_id":%q,"comment_id":%q,"created_time":%d,"item":"comment","parent_id":%q,"verb":"add"},"field":"feed"}]}`,
			page, now, 100000000000000+i, post, post, msg, post, comment, now, post))
	}
	body := `{"entry":[` + strings.Join(entries, ",") + `],"object":"page"}`
	if len(body) <= 1<<20 {
		t.Fatalf("the batch is %d bytes: not past the old 1 MiB limit, the test shows nothing", len(body))
	}
	code, b := e.post(t, body, map[string]string{"X-Hub-Signature-256": sign(whAppSecret, body)})
	if code != http.StatusOK {
		t.Fatalf("a batch of 1,000 comments (%d bytes) answered %d (%s), want 200", len(body), code, strings.TrimSpace(b))
	}
	if n := e.queued(t); n != 1000 {
		t.Fatalf("%d items queued, want 1000", n)
	}
}

// gateBody is a request body that says when it is first read, then blocks
// until released, then ends.
type gateBody struct {
	reading chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGateBody() *gateBody {
	return &gateBody{reading: make(chan struct{}), release: make(chan struct{})}
}

func (b *gateBody) Read(p []byte) (int, error) {
	b.once.Do(func() { close(b.reading) })
	<-b.release
	return 0, io.EOF
}

// TestWebhookLargeBodiesReadTwoAtATime: a body is read whole before its
// signature can be checked, so anyone can send one. Bodies announced past
// 1 MiB (or of unknown length) are read two at a time, bounding what unsigned
// bodies hold in memory to 2 × 16 MiB; the third waits for one of them, and
// a small delivery is not held up by them.
func TestWebhookLargeBodiesReadTwoAtATime(t *testing.T) {
	h := api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	serve := func(body io.Reader, n int64) chan int {
		done := make(chan int, 1)
		go func() {
			r := httptest.NewRequest(http.MethodPost, "/webhook", body)
			r.ContentLength = n
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			done <- rec.Code
		}()
		return done
	}
	var bodies []*gateBody
	var answers []chan int
	for _, n := range []int64{8 << 20, -1, 4 << 20} { // the second of unknown length
		b := newGateBody()
		bodies = append(bodies, b)
		answers = append(answers, serve(b, n))
		if len(bodies) < 3 {
			<-b.reading
		}
	}
	select {
	case <-bodies[2].reading:
		t.Fatal("a third large body was read while two were")
	case <-time.After(200 * time.Millisecond):
	}
	small := `{"object":"page","entry":[]}`
	if code := <-serve(strings.NewReader(small), int64(len(small))); code == 0 {
		t.Fatal("no answer")
	}
	close(bodies[0].release)
	<-bodies[2].reading // its turn now
	close(bodies[1].release)
	close(bodies[2].release)
	for i, a := range answers {
		if code := <-a; code != http.StatusUnauthorized {
			t.Errorf("large body %d answered %d, want 401 (unsigned)", i, code)
		}
	}
}
