package sandbox

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf16"
)

// Webhook defaults.
const (
	DefaultWebhookAttempts = 4
	DefaultWebhookBackoff  = time.Second
	DefaultWebhookTimeout  = 20 * time.Second // Meta waits 20 s for an answer
)

// Webhook delivers Growth items to a Page webhook as Meta does: one signed
// feed delivery per new comment or visitor's post, POSTed as JSON with
// X-Hub-Signature-256 (and the older X-Hub-Signature), non-ASCII written as
// \uXXXX escapes, a delivery not answered 2xx tried again with backoff. A
// person's message is not delivered (Messenger's events go to the messages
// field, which pagereply leaves to the poll). Set the fields before the
// first Deliver.
type Webhook struct {
	// URL is the webhook's address, like http://127.0.0.1:8080/webhook.
	URL string
	// AppSecret is the key of the signatures.
	AppSecret string
	// Client; if nil, one with DefaultWebhookTimeout.
	Client *http.Client
	// Attempts is how many times a delivery is tried; if zero,
	// DefaultWebhookAttempts.
	Attempts int
	// Backoff is the wait before the second try, doubled before each next
	// one; if zero, DefaultWebhookBackoff.
	Backoff time.Duration
	// Sleep waits d or until ctx ends; if nil, a timer. Tests swap it.
	Sleep func(ctx context.Context, d time.Duration) error

	delivered, retried, failed atomic.Int64
}

// WebhookStats counts the deliveries of a Webhook.
type WebhookStats struct {
	// Delivered were answered 2xx, at the first try or a later one.
	Delivered int64 `json:"delivered"`
	// Retried are the tries after a first that failed.
	Retried int64 `json:"retried"`
	// Failed were given up after every try failed.
	Failed int64 `json:"failed"`
}

// Stats returns the deliveries so far.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Delivered: w.delivered.Load(), Retried: w.retried.Load(), Failed: w.failed.Load()}
}

// Deliver sends g's delivery, trying again on a transport error or an answer
// other than 2xx, and reports the last failure when every try failed. An
// item that has no feed delivery (a message) is not sent: nil. A delivery
// cut short by ctx's end is not counted failed.
func (w *Webhook) Deliver(ctx context.Context, g Growth) error {
	body, ok := WebhookBody(g)
	if !ok {
		return nil
	}
	attempts, wait := w.Attempts, w.Backoff
	if attempts <= 0 {
		attempts = DefaultWebhookAttempts
	}
	if wait <= 0 {
		wait = DefaultWebhookBackoff
	}
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var err error
	for i := range attempts {
		if i > 0 {
			if serr := sleep(ctx, wait); serr != nil {
				break
			}
			wait *= 2
			w.retried.Add(1)
		}
		if err = w.post(ctx, body); err == nil {
			w.delivered.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("webhook delivery of %s %s: %w", g.Kind, g.itemID(), cerr)
	}
	w.failed.Add(1)
	return fmt.Errorf("webhook delivery of %s %s: %w", g.Kind, g.itemID(), err)
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", SignWebhook(w.AppSecret, body))
	req.Header.Set("X-Hub-Signature", "sha1="+hexMAC(sha1.New, w.AppSecret, body))
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: DefaultWebhookTimeout}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return errors.New("answered " + resp.Status)
	}
	return nil
}

// SignWebhook returns the X-Hub-Signature-256 of body: "sha256=" and the hex
// HMAC-SHA256 of the body keyed by the app secret.
func SignWebhook(appSecret string, body []byte) string {
	return "sha256=" + hexMAC(sha256.New, appSecret, body)
}

func hexMAC(h func() hash.Hash, key string, body []byte) string {
	mac := hmac.New(h, []byte(key))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g Growth) itemID() string {
	switch g.Kind {
	case KindComment:
		return g.CommentID
	case KindConversation:
		return g.MessageID
	}
	return g.PostID
}

// WebhookBody returns the feed delivery Meta makes of g: object page, one
// entry of the Page with one change, field feed, verb add; item comment
// (parent_id the post, or the comment replied to) or status (a visitor's
// post, published); verb remove, hide or unhide for a comment's Growth.Verb.
// False for a message, a Reel or a comment on a Reel, which have none.
func WebhookBody(g Growth) ([]byte, bool) {
	type from struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	type value struct {
		From        from   `json:"from"`
		Message     string `json:"message"`
		PostID      string `json:"post_id"`
		CommentID   string `json:"comment_id,omitempty"`
		ParentID    string `json:"parent_id,omitempty"`
		CreatedTime int64  `json:"created_time"`
		Item        string `json:"item"`
		Verb        string `json:"verb"`
		Published   *int   `json:"published,omitempty"`
	}
	type change struct {
		Value value  `json:"value"`
		Field string `json:"field"`
	}
	type entry struct {
		ID      string   `json:"id"`
		Time    int64    `json:"time"`
		Changes []change `json:"changes"`
	}
	v := value{From: from{g.From.ID, g.From.Name}, Message: g.Message, PostID: g.PostID,
		CreatedTime: g.CreatedTime.Unix(), Verb: "add"}
	if g.Verb != "" {
		v.Verb = g.Verb
	}
	switch g.Kind {
	case KindComment:
		if g.Reel && g.Verb == "" {
			return nil, false
		}
		if g.Reel && !strings.Contains(g.PostID, "_") {
			// A Reel's id is its video id; post_id names a post,
			// "<page-id>_<post-id>" (Meta does not document a Reel's).
			v.PostID = g.PageID + "_" + g.PostID
		}
		v.Item, v.CommentID, v.ParentID = "comment", g.CommentID, v.PostID
		if g.ParentID != "" {
			v.ParentID = g.ParentID
		}
	case KindPost:
		one := 1
		v.Item, v.Published = "status", &one
	default:
		return nil, false
	}
	b, err := json.Marshal(struct {
		Entry  []entry `json:"entry"`
		Object string  `json:"object"`
	}{[]entry{{ID: g.PageID, Time: g.CreatedTime.Unix(), Changes: []change{{Value: v, Field: "feed"}}}}, "page"})
	if err != nil {
		return nil, false // cannot happen: strings and numbers only
	}
	return asciiJSON(b), true
}

// asciiJSON writes every non-ASCII character of a JSON text as a \uXXXX
// escape (a surrogate pair past U+FFFF), as Meta's deliveries do: outside
// strings JSON has only ASCII, so every such character is inside one.
func asciiJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			out = append(out, `\u`...)
			out = append(out, fmt.Sprintf("%04x", u)...)
		}
	}
	return out
}
