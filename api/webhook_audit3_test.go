package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/metrics"
)

// TestWebhookSignatureWholeMACAudit3: the whole HMAC is compared: the right
// signature with its last byte changed, or with a byte more, is a 401 and
// queues nothing.
func TestWebhookSignatureWholeMACAudit3(t *testing.T) {
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages})
	body := commentDelivery("100")
	good := sign(whAppSecret, body)
	last := "0"
	if strings.HasSuffix(good, "0") {
		last = "1"
	}
	for name, sig := range map[string]string{
		"last byte changed": good[:len(good)-1] + last,
		"a byte more":       good + "00",
	} {
		if st := postSigned(t, srv.URL, sig, body); st != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, st)
		}
	}
	if n := in.count(); n != 0 {
		t.Fatalf("%d items queued from badly signed deliveries", n)
	}
}

// errReader fails as a connection reset mid-body does.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by peer") }

// TestWebhookUnreadableBodyAudit3: a body that cannot be read (the sender's
// connection broke) is a 400, counted as bad_body, and queues nothing.
func TestWebhookUnreadableBodyAudit3(t *testing.T) {
	m := metrics.New()
	in := &recordingIntake{}
	h := api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Intake: in, Metrics: m,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/webhook", errReader{}))
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("unreadable body: %d (%s), want 400", rec.Code, rec.Body)
	}
	if got := counterValue(t, m.WebhookDeliveries.WithLabelValues("bad_body")); got != 1 {
		t.Errorf("bad_body deliveries %v, want 1", got)
	}
	if n := in.count(); n != 0 {
		t.Errorf("%d items queued", n)
	}
}

// TestWebhookLargeBodyWaitEndsWithRequestAudit3: a large body waiting for
// one of the two places among the large bodies being read stops waiting when
// its request ends (the sender gave up): it is answered at once, not held
// until a place frees, and the bodies being read are not disturbed.
func TestWebhookLargeBodyWaitEndsWithRequestAudit3(t *testing.T) {
	t.Parallel()
	h := api.NewWebhook(api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	serve := func(ctx context.Context, body io.Reader) chan int {
		done := make(chan int, 1)
		go func() {
			r := httptest.NewRequest(http.MethodPost, "/webhook", body).WithContext(ctx)
			r.ContentLength = 8 << 20
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			done <- rec.Code
		}()
		return done
	}
	var held []*gateBody
	var answers []chan int
	for range 2 {
		b := newGateBody()
		held = append(held, b)
		answers = append(answers, serve(context.Background(), b))
		<-b.reading
	}
	defer func() {
		for _, b := range held {
			close(b.release)
		}
		for _, a := range answers {
			<-a
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	waiting := newGateBody()
	answer := serve(ctx, waiting)
	cancel()
	select {
	case code := <-answer:
		if code != http.StatusBadRequest {
			t.Errorf("request ended while waiting: %d, want 400", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a request that ended while waiting for a place was not answered until one freed")
	}
	select {
	case <-waiting.reading:
		t.Error("the body of a request that ended while waiting was read")
	default:
	}
}

// counterValue reads one counter of a metrics set.
func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestWebhookHandshakeChallengeIsTextAudit3: the challenge is anyone's text:
// one that reads as HTML is still answered as text/plain, never sniffed
// into a page a browser would run.
func TestWebhookHandshakeChallengeIsTextAudit3(t *testing.T) {
	srv, _ := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret})
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {whVerifyToken}, "hub.challenge": {"<html><script>x</script>"}}.Encode()
	resp, err := http.Get(srv.URL + "/webhook?" + q)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "<html><script>x</script>" {
		t.Fatalf("handshake: %d %q", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain", ct)
	}
}

// TestWebhookIgnoredCountAudit3: the delivery's debug line counts each
// Messenger event it ignores, not each entry holding some.
func TestWebhookIgnoredCountAudit3(t *testing.T) {
	var logs proctest.Buffer
	pages := []config.Page{{ID: "100", AccessToken: "tok", ReplyTo: []string{config.ReplyComments}}}
	srv, in := webhookWith(t, api.WebhookParams{VerifyToken: whVerifyToken, AppSecret: whAppSecret, Pages: pages,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	event := `{"sender":{"id":"7001"},"recipient":{"id":"100"},"timestamp":1,"message":{"mid":"m_1","text":"hi"}}`
	body := `{"object":"page","entry":[{"id":"100","time":1,"messaging":[` + event + `,` + event + `]}]}`
	if st := postSigned(t, srv.URL, sign(whAppSecret, body), body); st != http.StatusOK {
		t.Fatalf("delivery: %d, want 200", st)
	}
	if n := in.count(); n != 0 {
		t.Fatalf("%d items queued from Messenger events", n)
	}
	if !strings.Contains(logs.String(), "ignored=2") {
		t.Errorf("the delivery's log does not count two ignored events:\n%s", logs.String())
	}
}
