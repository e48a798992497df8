package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph/sandbox"
)

// sandboxGrowTick is how often --grow adds what is due; a rate below one per
// tick carries the rest over.
const sandboxGrowTick = 100 * time.Millisecond

// sandboxGrowCatchUp bounds the time one tick adds for: a process stopped
// (a laptop asleep) does not come back with an hour's comments at once.
const sandboxGrowCatchUp = time.Second

// sandboxWebhookWorkers deliver at once, as Meta's do; sandboxWebhookQueue
// changes wait to be batched into a delivery, and more are dropped (and
// counted).
const (
	sandboxWebhookWorkers = 4
	sandboxWebhookQueue   = 10000
)

// sandboxWebhookRetryFor and sandboxWebhookMaxBackoff are --webhook's
// redeliveries: Meta delivers a delivery not answered 2xx again at once,
// then less and less often for 36 hours, and drops it then; the sandbox
// tries it again 1, 2, 4 … s apart, the waits capped at a minute (Meta's
// grow longer: a minute keeps a webhook that is back getting its backlog
// soon), for --webhook-retry-for (36 hours) after the first try, so a
// webhook down for hours still gets what grew meanwhile (up to the
// changes the sandbox keeps waiting, sandboxWebhookQueue).
const (
	sandboxWebhookRetryFor   = sandbox.DefaultWebhookRetryFor
	sandboxWebhookMaxBackoff = time.Minute
)

// newSandboxWebhook is --webhook's Webhook: deliveries batched over batch,
// each redelivered for retryFor after its first try (0: tried once).
func newSandboxWebhook(url, secret string, batch, retryFor time.Duration) *sandbox.Webhook {
	h := &sandbox.Webhook{URL: url, AppSecret: secret, BatchWindow: batch,
		Backoff: time.Second, MaxBackoff: sandboxWebhookMaxBackoff, RetryFor: retryFor}
	if retryFor <= 0 {
		h.Attempts = 1
	}
	return h
}

// sandboxAppSecretEnv is where --webhook takes the app secret it signs with,
// the variable the example config takes graph.app_secret from: a secret in
// argv is seen by every user of the machine (ps).
const sandboxAppSecretEnv = "FB_APP_SECRET"

// rateFlag is a --grow value, read with config.ParseRate; zero when not
// given.
type rateFlag struct{ r config.Rate }

func (f *rateFlag) String() string {
	if f == nil || f.r.N == 0 {
		return ""
	}
	return f.r.String()
}

func (f *rateFlag) Set(s string) error {
	r, err := config.ParseRate(s)
	if err != nil {
		return err
	}
	f.r = r
	return nil
}

// sandboxGrowth adds visitors' items to a running sandbox at a rate and,
// with a webhook, delivers each new comment and visitor's post to it.
type sandboxGrowth struct {
	sb   *sandbox.Sandbox
	rate config.Rate
	hook *sandbox.Webhook // nil without --webhook

	until   time.Time // --grow-for's end: nothing is added from then on; zero: none
	last    time.Time // the previous tick
	acc     int64     // items × ns carried to the next tick
	queue   chan sandbox.Growth
	dropped atomic.Int64

	outMu    sync.Mutex
	out      io.Writer
	failures int // delivery failures said on out

	logMu sync.Mutex
	log   *json.Encoder // --grow-log's, nil without it
	logW  io.Writer
}

// growLogLine is one line of --grow-log: an item --grow added (event
// grown) or whose webhook delivery was answered 2xx (event delivered), at
// the time it happened.
type growLogLine struct {
	Event          string    `json:"event"`
	At             time.Time `json:"at"`
	Kind           string    `json:"kind"`
	Verb           string    `json:"verb,omitempty"`
	PageID         string    `json:"page_id"`
	PostID         string    `json:"post_id,omitempty"`
	CommentID      string    `json:"comment_id,omitempty"`
	ParentID       string    `json:"parent_id,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	MessageID      string    `json:"message_id,omitempty"`
	FromID         string    `json:"from_id,omitempty"`
	CanReply       bool      `json:"can_reply_privately"`
	Reel           bool      `json:"reel,omitempty"`
	CreatedTime    int64     `json:"created_time"`
}

// setLog makes the growth write every item and delivery to w, one JSON
// object a line.
func (g *sandboxGrowth) setLog(w io.Writer) {
	g.logW, g.log = w, json.NewEncoder(w)
}

func (g *sandboxGrowth) logItem(event string, it sandbox.Growth) {
	if g.log == nil {
		return
	}
	g.logMu.Lock()
	defer g.logMu.Unlock()
	_ = g.log.Encode(growLogLine{Event: event, At: time.Now().UTC(), Kind: it.Kind, Verb: it.Verb, PageID: it.PageID,
		PostID: it.PostID, CommentID: it.CommentID, ParentID: it.ParentID, ConversationID: it.ConversationID,
		MessageID: it.MessageID, FromID: it.From.ID, CanReply: it.CanReplyPrivately, Reel: it.Reel,
		CreatedTime: it.CreatedTime.Unix()})
}

func newSandboxGrowth(sb *sandbox.Sandbox, rate config.Rate, hook *sandbox.Webhook, out io.Writer) *sandboxGrowth {
	g := &sandboxGrowth{sb: sb, rate: rate, hook: hook, out: out}
	if hook != nil {
		g.queue = make(chan sandbox.Growth, sandboxWebhookQueue)
	}
	return g
}

// run adds what is due at each tick until ctx ends, the first tick counting
// from start, and returns when its deliveries have stopped.
func (g *sandboxGrowth) run(ctx context.Context, start time.Time, ticks <-chan time.Time) {
	g.last = start
	var wg sync.WaitGroup
	if g.hook != nil {
		// The changes queued close together go in one delivery (the
		// hook's BatchWindow), as Meta batches them.
		batches := make(chan []sandbox.Growth)
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.hook.Batch(ctx, g.queue, batches)
		}()
		for range sandboxWebhookWorkers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g.deliver(ctx, batches)
			}()
		}
	}
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case at := <-ticks:
			if !g.until.IsZero() && !at.Before(g.until) {
				g.step(g.until) // what was due up to the end
				g.until = time.Time{}
				ticks = nil // the deliveries go on
				continue
			}
			g.step(at)
		}
	}
}

// step adds the items due between the previous tick and at, and queues
// their deliveries.
func (g *sandboxGrowth) step(at time.Time) []sandbox.Growth {
	d := min(at.Sub(g.last), sandboxGrowCatchUp)
	g.last = at
	if d <= 0 {
		return nil
	}
	g.acc += int64(d) * int64(g.rate.N)
	n := g.acc / int64(g.rate.Per)
	g.acc -= n * int64(g.rate.Per)
	items := g.sb.Grow(int(n))
	for _, it := range items {
		g.logItem("grown", it)
	}
	if g.queue == nil {
		return items
	}
	for _, it := range items {
		if it.Kind == sandbox.KindConversation || it.Kind == sandbox.KindReel || it.Reel && it.Verb == "" {
			continue // Messenger's events, a Reel, a comment on one: no feed delivery
		}
		select {
		case g.queue <- it:
		default:
			g.dropped.Add(1)
		}
	}
	return items
}

func (g *sandboxGrowth) deliver(ctx context.Context, batches <-chan []sandbox.Growth) {
	for {
		select {
		case <-ctx.Done():
			return
		case batch := <-batches:
			if err := g.hook.DeliverBatch(ctx, batch); err != nil {
				if ctx.Err() == nil {
					g.sayFailure(err)
				}
			} else {
				for _, it := range batch {
					g.logItem("delivered", it)
				}
			}
		}
	}
}

// sayFailure writes the first deliveries given up; the stats count them all.
func (g *sandboxGrowth) sayFailure(err error) {
	const said = 10
	g.outMu.Lock()
	defer g.outMu.Unlock()
	g.failures++
	switch {
	case g.failures <= said:
		fmt.Fprintf(g.out, "pagereply sandbox: %v\n", err)
	case g.failures == said+1:
		fmt.Fprintf(g.out, "pagereply sandbox: more webhook deliveries failed: /_sandbox/stats counts them\n")
	}
}

// sandboxWebhookStats is the webhook part of GET /_sandbox/stats.
type sandboxWebhookStats struct {
	sandbox.WebhookStats
	// Dropped were never tried: more were waiting than the sandbox keeps.
	Dropped int64 `json:"dropped"`
	// Redelivery is how a delivery not answered 2xx is tried again.
	Redelivery sandboxRedelivery `json:"redelivery"`
}

// sandboxRedelivery is a sandbox.WebhookSchedule as the stats show it:
// the first wait, doubled up to max_backoff ("0s": no cap), the tries
// going on for retry_for after the first ("0s": no time limit) or
// attempts tries (0: no count).
type sandboxRedelivery struct {
	Attempts   int    `json:"attempts"`
	Backoff    string `json:"backoff"`
	MaxBackoff string `json:"max_backoff"`
	RetryFor   string `json:"retry_for"`
}

func (g *sandboxGrowth) webhookStats() *sandboxWebhookStats {
	if g == nil || g.hook == nil {
		return nil
	}
	sc := g.hook.Schedule()
	return &sandboxWebhookStats{WebhookStats: g.hook.Stats(), Dropped: g.dropped.Load(), Redelivery: sandboxRedelivery{
		Attempts: sc.Attempts, Backoff: sc.Backoff.String(), MaxBackoff: sc.MaxBackoff.String(), RetryFor: sc.RetryFor.String()}}
}

// sandboxWebhookFlags checks --webhook and finds the app secret it signs
// with: FB_APP_SECRET, or --app-secret's (the same secret Meta makes
// appsecret_proof with).
func sandboxWebhookFlags(env *cmdEnv, growing bool, hookURL, flagSecret string) (string, error) {
	if hookURL == "" {
		return "", nil
	}
	if !growing {
		return "", errors.New("--webhook delivers what --grow adds: give --grow too")
	}
	u, err := url.Parse(hookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("--webhook: want an http or https URL, like http://127.0.0.1:8080/webhook")
	}
	secret := env.getenv(sandboxAppSecretEnv)
	switch {
	case secret == "" && flagSecret == "":
		return "", fmt.Errorf("--webhook signs its deliveries with the app secret: set %s (pagereply's graph.app_secret)", sandboxAppSecretEnv)
	case secret == "":
		return flagSecret, nil
	case flagSecret != "" && flagSecret != secret:
		return "", fmt.Errorf("%s and --app-secret differ: Meta signs deliveries with the app secret appsecret_proof is made with", sandboxAppSecretEnv)
	}
	return secret, nil
}

// redactedURL is raw as the sandbox prints it: without the password a
// user:pass@ part may hold (raw is a URL sandboxWebhookFlags accepted).
func redactedURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that cannot be read)"
	}
	return u.Redacted()
}
