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
	"slices"
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
	// DefaultWebhookMaxBatch is the most changes one delivery holds: Meta
	// batches up to 1,000 updates in a delivery.
	DefaultWebhookMaxBatch = 1000
	// DefaultWebhookRetryFor is how long Meta goes on redelivering a
	// delivery not answered 2xx: "immediately, then a few more times with
	// decreasing frequency over the next 36 hours", then it is dropped.
	DefaultWebhookRetryFor = 36 * time.Hour
	// DefaultWebhookBatchWindow is how long `pagereply sandbox --webhook`
	// gathers the changes that arise after a first into its delivery. Meta
	// states no window; a short one keeps the sandbox's deliveries prompt.
	DefaultWebhookBatchWindow = 200 * time.Millisecond
)

// Webhook delivers Growth items to a Page webhook as Meta does: signed feed
// deliveries of the new comments and visitors' posts, POSTed as JSON with
// X-Hub-Signature-256 (and the older X-Hub-Signature), non-ASCII written as
// \uXXXX escapes, a delivery not answered 2xx (or not answered within the
// Client's timeout) delivered again, the same body, with growing waits, a
// number of tries (Attempts) or for a time (RetryFor: Meta's is 36 hours).
// Deliver sends one item's delivery; DeliverBatch and Batch make Meta's
// batched deliveries: the changes that arise close together in one delivery,
// an entry per Page with its changes, up to MaxBatch changes. A person's
// message is not delivered (Messenger's events go to the messages field,
// which pagereply leaves to the poll). Set the fields before the first
// delivery.
type Webhook struct {
	// URL is the webhook's address, like http://127.0.0.1:8080/webhook.
	URL string
	// AppSecret is the key of the signatures.
	AppSecret string
	// Client; if nil, one with DefaultWebhookTimeout.
	Client *http.Client
	// Attempts is how many times a delivery is tried; if zero,
	// DefaultWebhookAttempts, or no count at all when RetryFor is set.
	Attempts int
	// RetryFor is how long after its first try a delivery is tried again:
	// no try is made, nor waited for, past it (DefaultWebhookRetryFor is
	// Meta's 36 hours); if zero, the tries are Attempts' alone. With both
	// set, whichever ends first.
	RetryFor time.Duration
	// Backoff is the wait before the second try, doubled before each next
	// one; if zero, DefaultWebhookBackoff.
	Backoff time.Duration
	// MaxBackoff caps the doubled wait; if zero, none.
	MaxBackoff time.Duration
	// BatchWindow is how long Batch gathers changes after the first of a
	// delivery before sending it (sooner when MaxBatch are gathered); if
	// zero, each change is its own delivery, as Meta's at a low rate.
	BatchWindow time.Duration
	// MaxBatch is the most changes in one delivery; if zero,
	// DefaultWebhookMaxBatch.
	MaxBatch int
	// Sleep waits d or until ctx ends; if nil, a timer. Tests swap it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock RetryFor is measured on; if nil, time.Now. Tests
	// swap it with Sleep.
	Now func() time.Time

	delivered, deliveries, retried, failed atomic.Int64
}

// WebhookStats counts the deliveries of a Webhook.
type WebhookStats struct {
	// Delivered are the changes (items) in deliveries answered 2xx, at the
	// first try or a later one.
	Delivered int64 `json:"delivered"`
	// Deliveries are the deliveries (POSTs) answered 2xx: fewer than
	// Delivered when deliveries are batched.
	Deliveries int64 `json:"deliveries"`
	// Retried are the tries after a first that failed.
	Retried int64 `json:"retried"`
	// Failed are the changes in deliveries given up after every try failed.
	Failed int64 `json:"failed"`
}

// WebhookSchedule is how a Webhook redelivers a delivery not answered 2xx:
// the waits start at Backoff and double up to MaxBackoff (0: no cap); the
// tries end after Attempts (0: no count) or RetryFor after the first try
// (0: no time), whichever ends first.
type WebhookSchedule struct {
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
	RetryFor   time.Duration
}

// Schedule returns the redeliveries w makes, its defaults filled in.
func (w *Webhook) Schedule() WebhookSchedule {
	s := WebhookSchedule{Attempts: w.Attempts, Backoff: w.Backoff, MaxBackoff: max(w.MaxBackoff, 0), RetryFor: max(w.RetryFor, 0)}
	if s.Attempts <= 0 {
		s.Attempts = 0
		if s.RetryFor == 0 {
			s.Attempts = DefaultWebhookAttempts
		}
	}
	if s.Backoff <= 0 {
		s.Backoff = DefaultWebhookBackoff
	}
	return s
}

// Stats returns the deliveries so far.
func (w *Webhook) Stats() WebhookStats {
	return WebhookStats{Delivered: w.delivered.Load(), Deliveries: w.deliveries.Load(),
		Retried: w.retried.Load(), Failed: w.failed.Load()}
}

// Deliver sends g's delivery, trying again on a transport error or an answer
// other than 2xx, and reports the last failure when every try failed. An
// item that has no feed delivery (a message) is not sent: nil. A delivery
// cut short by ctx's end is not counted failed.
func (w *Webhook) Deliver(ctx context.Context, g Growth) error {
	return w.DeliverBatch(ctx, []Growth{g})
}

// DeliverBatch sends items as Meta batches them: one delivery of up to
// MaxBatch changes (several deliveries, one after another, for more), an
// entry per Page in the order its first item comes, each with its items'
// changes in their order; items without a feed delivery are left out. Each
// delivery is tried as Deliver's is, the same body each time; the error
// names the first failure.
func (w *Webhook) DeliverBatch(ctx context.Context, items []Growth) error {
	items = slices.DeleteFunc(slices.Clone(items), func(g Growth) bool { return !hasDelivery(g) })
	limit := w.MaxBatch
	if limit <= 0 {
		limit = DefaultWebhookMaxBatch
	}
	var errs []error
	for len(items) > 0 {
		n := min(len(items), limit)
		if err := w.deliverOne(ctx, items[:n]); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
		items = items[n:]
	}
	return errors.Join(errs...)
}

// deliverOne makes one delivery of items, all of which have one.
func (w *Webhook) deliverOne(ctx context.Context, items []Growth) error {
	body, _ := WebhookBatchBody(items)
	sched := w.Schedule()
	wait := sched.Backoff
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	now := w.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	var err error
	for i := 0; ; i++ {
		if i > 0 {
			if sched.Attempts > 0 && i >= sched.Attempts {
				break
			}
			if sched.RetryFor > 0 && now().Add(wait).Sub(start) > sched.RetryFor {
				break // Meta drops a delivery unanswered that long
			}
			if serr := sleep(ctx, wait); serr != nil {
				break
			}
			wait *= 2
			if sched.MaxBackoff > 0 && wait > sched.MaxBackoff {
				wait = sched.MaxBackoff
			}
			w.retried.Add(1)
		}
		if err = w.post(ctx, body); err == nil {
			w.delivered.Add(int64(len(items)))
			w.deliveries.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	what := items[0].Kind + " " + items[0].itemID()
	if len(items) > 1 {
		what = fmt.Sprintf("%d changes (the first %s)", len(items), what)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("webhook delivery of %s: %w", what, cerr)
	}
	w.failed.Add(int64(len(items)))
	return fmt.Errorf("webhook delivery of %s: %w", what, err)
}

// Batch gathers the items read from in into Meta's batched deliveries and
// sends each on out, to be given to DeliverBatch: a batch goes BatchWindow
// after its first item came, or as soon as it holds MaxBatch items, and
// while out is not ready it gathers on up to MaxBatch (as Meta's batches
// grow while a webhook is slow). With no BatchWindow each item is a batch
// of its own. Items without a feed delivery are left out. Batch returns
// when ctx ends, or when in is closed and the last batch was taken.
func (w *Webhook) Batch(ctx context.Context, in <-chan Growth, out chan<- []Growth) {
	limit := w.MaxBatch
	if limit <= 0 {
		limit = DefaultWebhookMaxBatch
	}
	if w.BatchWindow <= 0 {
		limit = 1
	}
	var (
		batch  []Growth
		ready  bool // the window ended, or batch is full
		timer  *time.Timer
		window <-chan time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		recv, send := in, out
		if len(batch) >= limit || in == nil {
			recv = nil
		}
		if !ready || len(batch) == 0 {
			send = nil
		}
		if recv == nil && send == nil && in == nil && len(batch) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case g, ok := <-recv:
			if !ok {
				in, ready = nil, true
				continue
			}
			if !hasDelivery(g) {
				continue
			}
			batch = append(batch, g)
			if len(batch) == 1 && limit > 1 {
				if timer == nil {
					timer = time.NewTimer(w.BatchWindow)
				} else {
					timer.Reset(w.BatchWindow)
				}
				window = timer.C
			}
			if len(batch) >= limit {
				ready = true
			}
		case <-window:
			window, ready = nil, true
		case send <- batch:
			batch, ready = nil, in == nil
			if timer != nil {
				timer.Stop()
			}
			window = nil
		}
	}
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
	if !hasDelivery(g) {
		return nil, false
	}
	return WebhookBatchBody([]Growth{g})
}

// WebhookBatchBody returns Meta's batched feed delivery of items: object
// page, an entry per Page in the order its first item comes (its time the
// latest created_time of its changes), each with a change per item, in the
// items' order, as WebhookBody writes it. Items without a delivery are
// left out; false when none has one. It holds every item given: MaxBatch
// is DeliverBatch's to apply.
func WebhookBatchBody(items []Growth) ([]byte, bool) {
	var entries []webhookEntry
	at := map[string]int{} // Page id → its entry's index
	for _, g := range items {
		v, ok := webhookValueOf(g)
		if !ok {
			continue
		}
		i, seen := at[g.PageID]
		if !seen {
			i = len(entries)
			at[g.PageID] = i
			entries = append(entries, webhookEntry{ID: g.PageID})
		}
		e := &entries[i]
		e.Time = max(e.Time, g.CreatedTime.Unix())
		e.Changes = append(e.Changes, webhookChange{Value: v, Field: "feed"})
	}
	if len(entries) == 0 {
		return nil, false
	}
	b, err := json.Marshal(struct {
		Entry  []webhookEntry `json:"entry"`
		Object string         `json:"object"`
	}{entries, "page"})
	if err != nil {
		return nil, false // cannot happen: strings and numbers only
	}
	return asciiJSON(b), true
}

type webhookFrom struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type webhookValue struct {
	From        webhookFrom `json:"from"`
	Message     string      `json:"message"`
	PostID      string      `json:"post_id"`
	CommentID   string      `json:"comment_id,omitempty"`
	ParentID    string      `json:"parent_id,omitempty"`
	CreatedTime int64       `json:"created_time"`
	Item        string      `json:"item"`
	Verb        string      `json:"verb"`
	Published   *int        `json:"published,omitempty"`
}

type webhookChange struct {
	Value webhookValue `json:"value"`
	Field string       `json:"field"`
}

type webhookEntry struct {
	ID      string          `json:"id"`
	Time    int64           `json:"time"`
	Changes []webhookChange `json:"changes"`
}

// hasDelivery tells whether g has a feed delivery: a comment (not a new one
// on a Reel) or a visitor's post.
func hasDelivery(g Growth) bool {
	_, ok := webhookValueOf(g)
	return ok
}

// webhookValueOf is the value of g's change, false when it has none.
func webhookValueOf(g Growth) (webhookValue, bool) {
	v := webhookValue{From: webhookFrom{g.From.ID, g.From.Name}, Message: g.Message, PostID: g.PostID,
		CreatedTime: g.CreatedTime.Unix(), Verb: "add"}
	if g.Verb != "" {
		v.Verb = g.Verb
	}
	switch g.Kind {
	case KindComment:
		if g.Reel && g.Verb == "" {
			return v, false
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
		return v, false
	}
	return v, true
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
