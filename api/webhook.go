package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/internal/logspace"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
)

// DefaultWebhookMaxBody is the largest webhook delivery accepted when
// WebhookParams.MaxBody is zero. Meta batches up to 1,000 updates in one
// delivery and writes every non-ASCII character as a \uXXXX escape (6 bytes,
// 12 for an emoji), so a full batch of comments in Cyrillic or Thai runs past
// 1 MiB; a refused batch is delivered again, refused again, and lost. 16 MiB
// holds 1,000 comments of 2,500 escaped characters each.
const DefaultWebhookMaxBody = 16 << 20

// WebhookIntake queues the items a delivery names; *tasks.Enqueuer
// implements it. The worker's poll handler reads each item from Graph, checks
// it like the poll does and enqueues its reply, so the webhook answers Meta
// without waiting on Graph.
type WebhookIntake interface {
	EnqueueWebhookItem(ctx context.Context, it tasks.WebhookItem) (tasks.Outcome, error)
}

// WebhookBatchIntake is a WebhookIntake that queues a delivery's items at
// once, with one outcome per item (the outcomes so far on error);
// *tasks.Enqueuer implements it, telling the items queued already in one
// round trip. The webhook uses it when Intake has it.
type WebhookBatchIntake interface {
	EnqueueWebhookItems(ctx context.Context, its []tasks.WebhookItem) ([]tasks.Outcome, error)
}

// HiddenMarks records the comments a Page hid and showed again, for the
// Pages whose hides hold (tasks.HidesHold: skip_hidden, or no comments in
// reply_to, where a comment reply queued before the change still runs),
// and the comments and visitors' posts removed from any Page that replies
// to them; *tasks.Ledger implements it. A hide or
// unhide carries its time (Meta's created_time of the change, zero when it
// has none): one older than the comment's last changes nothing.
type HiddenMarks interface {
	MarkHidden(ctx context.Context, page, commentID string, at time.Time) (bool, error)
	UnmarkHidden(ctx context.Context, page, commentID string, at time.Time) (bool, error)
	MarkRemoved(ctx context.Context, page string, t tasks.Target) (bool, error)
}

// WebhookParams configures NewWebhook.
type WebhookParams struct {
	// VerifyToken is webhook.verify_token, the secret of the GET handshake.
	VerifyToken string
	// AppSecret is graph.app_secret, the key of X-Hub-Signature-256. If empty,
	// every POST is refused: nothing could prove it came from Meta.
	AppSecret string
	// Intake queues the items (required).
	Intake WebhookIntake
	// Hidden records the hides and unhides of comments of the Pages whose
	// hides hold (tasks.HidesHold), and the removals of comments and
	// visitors' posts of the Pages that reply to them; if nil, those changes
	// are ignored as before.
	Hidden HiddenMarks
	// Pages are the configured Pages; changes of other Pages are ignored.
	Pages []config.Page
	// MaxBody is the largest body in bytes; if zero, DefaultWebhookMaxBody.
	MaxBody int64
	// Logger; if nil, slog.Default().
	Logger *slog.Logger
	// Metrics; if nil, a private set.
	Metrics *metrics.Metrics
	// Now is the clock; if nil, time.Now.
	Now func() time.Time
	// Deadline bounds the queueing of one delivery's items; if zero,
	// DefaultDeliveryDeadline.
	Deadline time.Duration
	// Secrets are the configuration's other secrets (config.Config.Secrets:
	// the API's tokens, Redis's passwords), which, as VerifyToken,
	// AppSecret and the Pages' tokens, a logged request value never shows.
	Secrets []string
}

// The outcomes of a delivery, the outcome label of
// pagereply_webhook_deliveries_total: a fixed set, each exported from the
// start at 0.
const (
	outcomeAccepted     = "accepted"      // 200, a change queued (or already queued)
	outcomeIgnored      = "ignored"       // 200, nothing to queue
	outcomeBadSignature = "bad_signature" // 401
	outcomeBadBody      = "bad_body"      // 400
	outcomeTooLarge     = "too_large"     // 413
	outcomeError        = "error"         // 503, not queued
)

// webhook is Meta's Page webhook (SPEC.md, "The webhook in detail").
type webhook struct {
	p     WebhookParams
	log   *slog.Logger
	pages map[string]*config.Page
	// large holds a place for each body being read that may be past
	// smallBody (announced so, or of unknown length): the body is read whole
	// before its signature can be checked, so anyone can send one, and
	// these bound what such bodies hold in memory at once to
	// largeBodies × MaxBody.
	large chan struct{}
	// badSignature spaces the lines of deliveries refused for their
	// signature: anyone can post to /webhook, and a wrong app secret refuses
	// every delivery of Meta's.
	badSignature logspace.Line
	// noValues spaces the lines of deliveries without values (Include
	// Values off): every delivery of such a subscription is one.
	noValues logspace.Line
	// otherPage spaces the lines of entries of a Page not in the config:
	// Meta delivers the changes of every Page that installed the app, and
	// one the config lacks (an id mistyped, a Page dropped from pages
	// with the app still installed) has every change ignored.
	otherPage logspace.Line
	// badVerifyToken spaces the lines of handshakes refused for their
	// verify token: anyone can GET /webhook (scanners do, with no query
	// at all), and each would otherwise be a WARN line.
	badVerifyToken logspace.Line
	// redisAway spaces the lines of deliveries not queued because Redis is
	// away or too slow for the delivery's budget: every delivery then fails
	// alike (each also logged as a 503), as the API's "api: enqueue".
	redisAway logspace.Line
	// secrets are the values a logged request value never shows
	// (redactedValue): VerifyToken, AppSecret, the Pages' tokens, Secrets.
	secrets []string
}

// failLevel is the level of a delivery's failure line: ERROR, but when
// Redis is away (or slower than the delivery's budget, or than the sender's
// wait: it hung up, the context canceled), ERROR once per logspace.Period
// and debug for the others, and how many those were.
func (h *webhook) failLevel(err error) (slog.Level, []any) {
	if !tasks.RedisAway(err) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return slog.LevelError, nil
	}
	lvl, repeated := h.redisAway.Level(h.p.Now(), slog.LevelError)
	if lvl == slog.LevelDebug || repeated == 0 {
		return lvl, nil
	}
	return lvl, []any{slog.Int("repeated", repeated)}
}

// deliveryUnavailableMsg is the answer's message for a delivery Redis
// could not take (503). Its Retry-After is the API's for Redis away
// (redisRetryAfter): when this server expects to take it. Meta does not
// read it and delivers again on its own schedule (for hours); a relay or a
// replay of deliveries may.
const deliveryUnavailableMsg = "cannot queue the delivery now; retry later"

// A delivery announced at most smallBody long is read at once; larger ones
// (Meta's full batches, rare) are read largeBodies at a time.
const (
	smallBody   = 1 << 20
	largeBodies = 2
)

// NewWebhook returns the handler of GET and POST /webhook: Meta's
// subscription handshake, then signed feed deliveries whose new comments and
// visitors' posts are queued as webhook items (deduplicated by item, so
// redeliveries are harmless). It answers before any Graph call is made.
func NewWebhook(p WebhookParams) http.Handler {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Metrics == nil {
		p.Metrics = metrics.New()
	}
	if p.MaxBody <= 0 {
		p.MaxBody = DefaultWebhookMaxBody
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Deadline <= 0 {
		p.Deadline = DefaultDeliveryDeadline
	}
	h := &webhook{p: p, log: p.Logger.With(slog.String("component", "webhook")), pages: map[string]*config.Page{},
		large: make(chan struct{}, largeBodies)}
	h.secrets = append([]string{p.VerifyToken, p.AppSecret}, p.Secrets...)
	for i := range p.Pages {
		h.pages[p.Pages[i].ID] = &p.Pages[i]
		h.secrets = append(h.secrets, p.Pages[i].AccessToken)
	}
	for _, o := range []string{outcomeAccepted, outcomeIgnored, outcomeBadSignature, outcomeBadBody, outcomeTooLarge, outcomeError} {
		p.Metrics.WebhookDeliveries.WithLabelValues(o)
	}
	if p.AppSecret == "" {
		h.log.Error("webhook has no graph.app_secret: every delivery will be refused")
	}
	return h
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.handshake(w, r)
	case http.MethodPost:
		h.deliver(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "use GET for the handshake, POST for deliveries", "")
	}
}

// handshake answers hub.challenge, exactly and as text/plain, when the
// verify token matches and the mode is subscribe. A wrong or missing token
// gets 403 whatever else the query holds; with the right token, a mode other
// than subscribe (Meta sends only subscribe) or no challenge gets 400 naming
// the parameter, rather than a 200 that Meta's subscription would fail on
// without saying why.
func (h *webhook) handshake(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mode := q.Get("hub.mode")
	// The query is the caller's, unauthenticated until the verify token
	// matches: its mode is logged without the configuration's secrets.
	loggedMode := redactedValue(mode, h.secrets, clipField, "a hub.mode")
	if h.p.VerifyToken == "" || subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(h.p.VerifyToken)) != 1 {
		lvl, repeated := h.badVerifyToken.Level(h.p.Now(), slog.LevelWarn)
		attrs := []any{slog.String("mode", loggedMode), slog.Bool("token_given", q.Get("hub.verify_token") != ""),
			slog.String("remote", r.RemoteAddr)}
		if lvl != slog.LevelDebug {
			attrs = append(attrs, slog.Int("repeated", repeated),
				slog.String("hint", "Meta sends webhook.verify_token when the app's webhook subscription is saved: check it there when that fails; the next ones are logged at debug for 10s"))
		}
		h.log.Log(r.Context(), lvl, "webhook handshake refused: missing or wrong hub.verify_token", attrs...)
		writeError(w, http.StatusForbidden, "verification failed", "")
		return
	}
	if mode != "subscribe" {
		h.log.Warn("webhook handshake refused: hub.mode is not subscribe", slog.String("mode", loggedMode))
		writeError(w, http.StatusBadRequest, "hub.mode must be subscribe", "hub.mode")
		return
	}
	challenge := q.Get("hub.challenge")
	if challenge == "" {
		h.log.Warn("webhook handshake refused: no hub.challenge")
		writeError(w, http.StatusBadRequest, "hub.challenge is required", "hub.challenge")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, challenge)
}

// delivery is Meta's POST body.
type delivery struct {
	Object string `json:"object"`
	Entry  []struct {
		ID      entryID `json:"id"`
		Changes []struct {
			Field string      `json:"field"`
			Value changeValue `json:"value"`
		} `json:"changes"`
		// Messenger's events (field messages): not read, counted for the
		// log. Conversations are answered by the poll.
		Messaging []json.RawMessage `json:"messaging"`
		// ChangedFields names the fields that changed, without their
		// values: what Meta sends in place of changes when the app's
		// subscription has Include Values off. Nothing in it can be
		// queued; kept raw, so that no shape of it refuses the delivery.
		ChangedFields json.RawMessage `json:"changed_fields"`
	} `json:"entry"`
}

// entryID is an entry's id, the Page's: a JSON string, as Meta writes it
// now, or a number, as it wrote Page ids until 2016 (and, for a while, by
// event: a postback's entry "id":123 beside a message's "id":"123"; older
// value shapes still give sender_id as a number). Refusing a number would
// refuse the whole delivery, which Meta redelivers for hours, refused each
// time, with the comments of its other entries. null reads as "", as for a
// string; any other JSON type is a delivery of another shape (400 naming
// entry.id).
type entryID string

func (id *entryID) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		*id = entryID(s)
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		*id = entryID(n.String())
		return nil
	}
	kind := "object"
	switch b[0] {
	case '[':
		kind = "array"
	case 't', 'f':
		kind = "bool"
	}
	return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[string]()}
}

// DefaultDeliveryDeadline bounds the queueing of one delivery's items: a
// Redis slow enough to pass it is answered 503, as one out of reach is, and
// Meta delivers the delivery again; the items queued so far are found
// queued then (in one round trip with a WebhookBatchIntake). Meta states no
// timeout for Page feed deliveries: its Messenger webhook documentation, for
// the same page subscription, asks for the 200 "within 5 or less seconds"
// (an older Messenger FAQ said a call times out "after 20 seconds").
// Queueing 1,000 new items takes well under a second on a Redis 2 ms away
// (BenchmarkWebhookDelivery1000), so this bites only on a Redis in trouble.
const DefaultDeliveryDeadline = 8 * time.Second

type changeValue struct {
	Item      string `json:"item"`
	Verb      string `json:"verb"`
	CommentID string `json:"comment_id"`
	PostID    string `json:"post_id"`
	From      struct {
		ID string `json:"id"`
	} `json:"from"`
	// At is the change's created_time: for a hide or an unhide of a
	// comment, when the Page hid or showed it (zero when absent or
	// unreadable). It orders a comment's hides and unhides that Meta
	// delivers out of order (changeTime).
	At time.Time `json:"-"`
	// EditKey is, for a comment's edit, its key (editKey): of the
	// change's created_time and message, as Meta sent them.
	EditKey int64 `json:"-"`
}

// UnmarshalJSON reads a change value leniently: values of items pagereply
// ignores (reactions, ...) may hold fields of other shapes, which must not
// fail the whole delivery.
func (v *changeValue) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		// Not an object: a change pagereply cannot use, ignored like any
		// other. Failing it would refuse the whole delivery, and Meta would
		// redeliver it, refused each time, with its usable changes.
		*v = changeValue{}
		return nil
	}
	str := func(k string) string {
		var s string
		if json.Unmarshal(raw[k], &s) != nil {
			return ""
		}
		return s
	}
	// Meta documents comment_id and post_id as numeric strings; a bare
	// comment id or a Reel's video id given as a JSON number (as Meta
	// wrote ids for years, and still writes from.id and sender_id at
	// times) is the same id, not a change to drop (numericID).
	v.Item, v.Verb, v.CommentID, v.PostID = str("item"), str("verb"), numericID(raw["comment_id"]), numericID(raw["post_id"])
	v.At = changeTime(raw["created_time"])
	if v.Verb == "edited" || v.Verb == "edit" {
		v.EditKey = editKey(idOf(raw["created_time"]), str("message"))
	}
	var from struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(raw["from"], &from) == nil {
		v.From.ID = idOf(from.ID)
	}
	if v.From.ID == "" {
		// Values of the older shape (before Graph v2.11, and still seen on
		// photo and video items) name the author as sender_id, a number,
		// and sender_name instead of from: the Page's own photo is still
		// the Page's own, not a Graph read to find out.
		v.From.ID = idOf(raw["sender_id"])
	}
	return nil
}

// changeTime reads a change's created_time: Unix seconds, as Meta sends it
// (an int32 in its webhook reference; a hide's and an unhide's of the same
// comment differ, each the time the Page acted), or, leniently, Unix
// milliseconds, either as a string, or Graph's "2006-01-02T15:04:05-0700".
// Zero for anything else. It is Meta's clock, compared only with Meta's
// times of the same comment, so the host's clock plays no part.
func changeTime(b json.RawMessage) time.Time {
	s := idOf(b)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse("2006-01-02T15:04:05-0700", s); err == nil {
		return t
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n <= 0 || n >= 1e15 {
		return time.Time{}
	}
	if n >= 1e11 { // milliseconds: 1e11 s is the year 5138
		return time.UnixMilli(int64(n))
	}
	return time.Unix(int64(n), 0)
}

// editKey is the key of a comment's edit (tasks.WebhookItem.Edited): a
// hash of the change's created_time and message, never 0, or 0 when the
// change has neither (the item then takes the time the webhook took it).
// Meta's redeliveries of the same edit share it, so they are one item;
// two edits of the comment differ by their text, or by their time, so
// each is judged, whichever of the comment's times created_time holds.
func editKey(created, message string) int64 {
	if created == "" && message == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(created))
	h.Write([]byte{0})
	h.Write([]byte(message))
	return int64(h.Sum64()>>1) | 1
}

// numericID reads an id given as a JSON string, or as a JSON number written
// as an integer's digits; "" for anything else (a number of another form,
// 1e3 or 1.5, names no Graph object: the change is ignored as malformed).
func numericID(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(b, &n) != nil || !isDigits(n.String()) {
		return ""
	}
	return n.String()
}

// idOf reads a Graph id given as a string or as a number; "" for anything
// else.
func idOf(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(b, &n) == nil {
		return n.String()
	}
	return ""
}

// readBody reads r's body, at most MaxBody; one that may be larger than
// smallBody waits for a place among the largeBodies being read (or for the
// request's end: the sender gave up).
func (h *webhook) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength < 0 || r.ContentLength > smallBody {
		select {
		case h.large <- struct{}{}:
			defer func() { <-h.large }()
		case <-r.Context().Done():
			return nil, fmt.Errorf("waiting to read a large body: %w", r.Context().Err())
		}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, h.p.MaxBody))
}

// deliver checks the signature, then queues each new comment or visitor's
// post of a configured Page, and each comment its Page showed again (its
// last change in the delivery an unhide), after writing the delivery's
// marks. It answers 413 past MaxBody, 401 without a valid
// signature, and 400 for a signed body that is not JSON or not a Meta
// delivery: of another shape, or without object, or an object page without
// entry (Meta always sends both, so such a body came from someone else
// holding the app secret, and a 400 tells them). What SPEC says to ignore, a
// delivery of another object included, is answered 200 (Meta redelivers for
// hours what is not) and logged at debug with why.
func (h *webhook) deliver(w http.ResponseWriter, r *http.Request) {
	body, err := h.readBody(w, r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.count(outcomeTooLarge)
			// Every item of the delivery is lost (Meta sends it again, as
			// large): worth an operator's look.
			h.log.Warn("webhook delivery refused: body larger than the webhook's limit",
				slog.Int64("limit_bytes", h.p.MaxBody), slog.Int64("content_length", r.ContentLength), slog.String("remote", r.RemoteAddr))
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than the webhook's limit", "")
			return
		}
		h.count(outcomeBadBody)
		writeError(w, http.StatusBadRequest, "cannot read the body", "")
		return
	}
	if !h.signed(r.Header.Get("X-Hub-Signature-256"), body) {
		h.count(outcomeBadSignature)
		lvl, repeated := h.badSignature.Level(h.p.Now(), slog.LevelWarn)
		attrs := []any{slog.String("remote", r.RemoteAddr)}
		if lvl != slog.LevelDebug {
			attrs = append(attrs, slog.Int("repeated", repeated),
				slog.String("hint", "Meta signs with the app secret: check graph.app_secret when every delivery is refused; the next ones are logged at debug for 10s"))
		}
		h.log.Log(r.Context(), lvl, "webhook delivery refused: bad or missing X-Hub-Signature-256", attrs...)
		writeError(w, http.StatusUnauthorized, "missing or invalid X-Hub-Signature-256", "")
		return
	}
	// The object first: a delivery of another object (Instagram's, of an app
	// shared with the Page's) is ignored whatever its entries hold.
	var head struct {
		Object *string `json:"object"`
	}
	if !h.decode(w, body, &head) {
		return
	}
	if head.Object == nil || *head.Object == "" {
		h.badBody(w, "object is required", "object")
		return
	}
	if *head.Object != "page" {
		// Answered 200: Meta redelivers for hours what is not.
		h.count(outcomeIgnored)
		h.log.Debug("webhook delivery ignored: not a Page delivery", slog.String("object", clipField(*head.Object)))
		w.WriteHeader(http.StatusOK)
		return
	}
	var d delivery
	if !h.decode(w, body, &d) {
		return
	}
	if d.Entry == nil { // absent or null; [] is a delivery of nothing
		h.badBody(w, "entry is required", "entry")
		return
	}
	now := h.p.Now().UnixMilli()
	ctx, cancel := context.WithTimeout(r.Context(), h.p.Deadline)
	defer cancel()
	queued, again, ignored := 0, 0, 0
	var items []tasks.WebhookItem
	var marks []markOp
	shown := map[tasks.Target]tasks.WebhookItem{} // the comments whose last change here is an unhide
	shownAt := map[tasks.Target]time.Time{}       // those unhides' created_time
	for _, e := range d.Entry {
		pageID := string(e.ID)
		page, ok := h.pages[pageID]
		// The entry's id as the log lines name it: a configured Page's, or
		// whatever a signed delivery sent, never a secret of the
		// configuration.
		pageAttr := slog.String("page_id", redactedValue(pageID, h.secrets, clipField, "an entry id"))
		if len(e.Messaging) > 0 {
			ignored += len(e.Messaging)
			h.log.Debug("webhook messaging events ignored: conversations are answered by the poll",
				pageAttr, slog.Int("events", len(e.Messaging)))
		}
		if len(e.Changes) == 0 && len(e.Messaging) == 0 && hasFields(e.ChangedFields) {
			ignored++
			lvl, repeated := h.noValues.Level(h.p.Now(), slog.LevelWarn)
			attrs := []any{pageAttr}
			if lvl != slog.LevelDebug {
				attrs = append(attrs, slog.Int("repeated", repeated),
					slog.String("hint", "turn Include Values on for the app's page subscription (include_values=true when subscribing through the API); the next ones are logged at debug for 10s"))
			}
			h.log.Log(r.Context(), lvl, "webhook delivery without values: Meta names the changed fields (changed_fields) but not the changes, so nothing can be queued from it", attrs...)
		}
		if !ok && len(e.Changes) > 0 {
			lvl, repeated := h.otherPage.Level(h.p.Now(), slog.LevelWarn)
			attrs := []any{pageAttr, slog.Int("changes", len(e.Changes))}
			if lvl != slog.LevelDebug {
				attrs = append(attrs, slog.Int("repeated", repeated),
					slog.String("hint", "Meta delivers the changes of every Page that installed the app: add the Page to pages (check its id), or uninstall the app from it (DELETE /{page-id}/subscribed_apps); the next ones are logged at debug for 10s"))
			}
			h.log.Log(r.Context(), lvl, "webhook changes of a Page not in the config ignored", attrs...)
		}
		for _, c := range e.Changes {
			if h.idHoldsSecret(c.Value) {
				// As the API and enqueue refuse such an id: it would be a
				// task's id and payload, a ledger key, in the monitor and
				// the logs. Meta sends none; the value is never shown.
				ignored++
				h.log.Debug("webhook change ignored", pageAttr,
					slog.String("why", "comment_id or post_id holds a secret of the configuration"))
				continue
			}
			mark, target, why := h.markOf(page, ok, c.Field, c.Value)
			if why != "" {
				ignored++
				h.log.Debug("webhook change ignored", pageAttr, h.whyAttr(why))
				continue
			}
			if mark != "" {
				if own := ownCommentID(target, c.Value.PostID); own != "" {
					// The comment as Graph spells it: the target of its
					// reply (the worker's read of a webhook item, the
					// poll's listing), and of its other changes. A mark
					// of the other spelling would stop no reply.
					target.ID = own
				}
				marks = append(marks, markOp{page: pageID, t: target, verb: mark, at: c.Value.At})
				if mark == "unhide" && page.Replies(config.ReplyComments) {
					// The comment is read again now (after the marks are
					// written): hidden when its add's item or a poll read
					// it, or its reply's task completed on the hide mark,
					// it would otherwise wait for the next full read (up
					// to 6 hours), past its reply window near its end. (A
					// Page that no longer replies to comments queues no
					// read: the unhide only drops the mark.)
					shown[target] = shownItem(pageID, target.ID, c.Value, now)
					shownAt[target] = c.Value.At
				} else if at := shownAt[target]; mark != "hide" || c.Value.At.IsZero() || !c.Value.At.Before(at) {
					// Hidden again, or removed, later in the delivery. A
					// hide older than the unhide (Meta's redelivery of a
					// change it failed to deliver, batched after the later
					// ones) changes nothing (shownScript): the comment
					// stays shown, and its read stays queued.
					delete(shown, target)
				}
				continue
			}
			it, why := itemOf(page, ok, pageID, c.Field, c.Value)
			if why != "" {
				ignored++
				h.log.Debug("webhook change ignored", pageAttr, h.whyAttr(why))
				continue
			}
			it.ReceivedAt = now
			if c.Value.Verb != "add" && it.Edited == 0 {
				it.Edited = now // an edit without created_time or message
			}
			items = append(items, it)
		}
	}
	for _, op := range marks {
		if it, ok := shown[op.t]; ok && op.verb == "unhide" {
			items = append(items, it)
			delete(shown, op.t)
		}
	}
	marked, unchanged, failed, err := h.markAll(ctx, marks)
	if err != nil {
		h.count(outcomeError)
		lvl, more := h.failLevel(err)
		h.log.Log(ctx, lvl, "webhook: record "+string(failed.t.Kind)+" "+failed.verb,
			append([]any{slog.String("page_id", failed.page), slog.String("error", err.Error())}, more...)...)
		writeUnavailable(w, redisRetryAfter, deliveryUnavailableMsg)
		return
	}
	queued += marked
	again += unchanged
	outs, err := h.enqueue(ctx, items)
	for i, o := range outs {
		h.p.Metrics.Enqueued.WithLabelValues(items[i].PageID, string(tasks.SourceWebhook)+"_item", string(o)).Inc()
		if o == tasks.Enqueued {
			queued++
		} else {
			again++ // a redelivery, or the same change twice
		}
	}
	if err != nil {
		// Meta redelivers what is not answered 200; the items queued so far
		// are told queued already then, in one round trip.
		h.count(outcomeError)
		attrs := []any{slog.Int("items", len(items)), slog.Int("queued", queued), slog.Int("already_queued", again)}
		if len(outs) < len(items) {
			it := items[len(outs)]
			attrs = append(attrs, slog.String("page_id", it.PageID), slog.String("item", it.TaskID()))
		}
		lvl, more := h.failLevel(err)
		h.log.Log(ctx, lvl, "webhook: queue item", append(append(attrs, slog.String("error", err.Error())), more...)...)
		writeUnavailable(w, redisRetryAfter, deliveryUnavailableMsg)
		return
	}
	if queued+again > 0 {
		h.count(outcomeAccepted)
	} else {
		h.count(outcomeIgnored)
	}
	h.log.Debug("webhook delivery", slog.Int("queued", queued), slog.Int("already_queued", again), slog.Int("ignored", ignored))
	w.WriteHeader(http.StatusOK)
}

// enqueue queues a delivery's items, at once when Intake is a
// WebhookBatchIntake, and returns their outcomes (those so far on error).
func (h *webhook) enqueue(ctx context.Context, items []tasks.WebhookItem) ([]tasks.Outcome, error) {
	if len(items) == 0 {
		return nil, nil
	}
	if b, ok := h.p.Intake.(WebhookBatchIntake); ok {
		return b.EnqueueWebhookItems(ctx, items)
	}
	outs := make([]tasks.Outcome, 0, len(items))
	for _, it := range items {
		o, err := h.p.Intake.EnqueueWebhookItem(ctx, it)
		if err != nil {
			return outs, err
		}
		outs = append(outs, o)
	}
	return outs, nil
}

// hasFields reports whether a changed_fields value names any field: a
// non-empty JSON array.
func hasFields(b json.RawMessage) bool {
	var fields []json.RawMessage
	return json.Unmarshal(b, &fields) == nil && len(fields) > 0
}

// count adds a delivery of outcome to pagereply_webhook_deliveries_total.
func (h *webhook) count(outcome string) {
	h.p.Metrics.WebhookDeliveries.WithLabelValues(outcome).Inc()
}

// decode reads a signed body into v, or answers 400 and reports false: for
// a body that is not JSON, or JSON of another shape than a delivery.
func (h *webhook) decode(w http.ResponseWriter, body []byte, v any) bool {
	err := json.Unmarshal(body, v)
	if err == nil {
		return true
	}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		// Valid JSON of another shape: say where, by field path and JSON
		// type only, never by the body's content.
		h.badBody(w, shapeProblem(ute), ute.Field)
		return false
	}
	h.count(outcomeBadBody)
	h.log.Debug("webhook delivery refused: body is not valid JSON")
	writeError(w, http.StatusBadRequest, "body is not valid JSON", "")
	return false
}

// badBody answers 400 to a signed body that is valid JSON but no Meta
// delivery, saying what is wrong (a field path and JSON types, never the
// body's content), and logs it at debug.
func (h *webhook) badBody(w http.ResponseWriter, problem, field string) {
	h.count(outcomeBadBody)
	h.log.Debug("webhook delivery refused: not a Meta webhook delivery", slog.String("why", problem))
	writeError(w, http.StatusBadRequest, "body is not a Meta webhook delivery: "+problem, field)
}

// shapeProblem describes a JSON value of the wrong type as "FIELD: want an
// array, got object" ("want an object, got array" for the body itself). It
// names only the field path (from the delivery type's own JSON names) and
// JSON types: a number's literal, which UnmarshalTypeError may carry, could
// be long.
func shapeProblem(e *json.UnmarshalTypeError) string {
	got, _, _ := strings.Cut(e.Value, " ")
	msg := "want " + jsonKind(e.Type) + ", got " + got
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return msg
}

// jsonKind names the JSON type a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another type"
}

// markOf returns the verb of a change that marks a comment or a visitor's
// post in the ledger ("hide", "unhide" or "remove") and its target, "" for
// another change: a comment that the Page hid or showed again, on a Page
// whose hides hold (tasks.HidesHold: with skip_hidden, or one that no longer
// replies to comments, whose replies queued before the change still run and
// must not go to a comment it hid meanwhile); a comment removed from a Page
// that replies to comments (deleted by its writer or by the Page: whoever
// from names, the Page's own included, as a delivery may name the remover);
// or a post removed from a Page that replies to posts, the change of item post or status whose
// post_id is the post itself. A remove of item photo, video or share is not
// one: it may name the post that held the media rather than a post pagereply
// replies to (a visitor's post of that item is still refused by Graph, as
// before). Only with Hidden set. Such a change whose id is missing or
// malformed is why it is ignored, said as for an add ("malformed: ..."), not
// "verb hide" as for a Page whose hides do not hold.
func (h *webhook) markOf(page *config.Page, known bool, field string, v changeValue) (verb string, t tasks.Target, why string) {
	if h.p.Hidden == nil || !known || field != "feed" {
		return "", t, ""
	}
	it := tasks.WebhookItem{PageID: page.ID}
	idField := "comment_id"
	switch {
	case v.Item == "comment" && ((v.Verb == "remove" && page.Replies(config.ReplyComments)) ||
		((v.Verb == "hide" || v.Verb == "unhide") && tasks.HidesHold(page))):
		it.Kind, it.ID = tasks.KindComment, v.CommentID
	case (v.Item == "post" || v.Item == "status") && v.Verb == "remove" && page.Replies(config.ReplyPosts):
		it.Kind, it.ID, idField = tasks.KindPost, v.PostID, "post_id"
	default:
		return "", t, ""
	}
	if err := it.Validate(); err != nil {
		return "", t, "malformed " + v.Verb + ": " + idField + ": missing or malformed"
	}
	return v.Verb, tasks.Target{Kind: it.Kind, ID: it.ID}, ""
}

// ownCommentID returns the id Graph gives the comment t, named in another
// spelling Graph reads: <post>_<comment> of Meta's older
// <page-id>_<post>_<comment>, or of a bare <comment> whose change names its
// post (post_id <page-id>_<post>, or a Reel's bare video id). "" when t is
// not a comment, is spelt so already, or its post is unknown.
func ownCommentID(t tasks.Target, postID string) string {
	if t.Kind != tasks.KindComment {
		return ""
	}
	parts := strings.Split(t.ID, "_")
	var own string
	switch {
	case len(parts) == 3 && parts[1] != "" && parts[2] != "":
		own = parts[1] + "_" + parts[2]
	case len(parts) == 1 && postID != "":
		pp := strings.Split(postID, "_")
		if len(pp) > 2 || pp[len(pp)-1] == "" {
			return ""
		}
		own = pp[len(pp)-1] + "_" + t.ID
	default:
		return ""
	}
	if it := (tasks.WebhookItem{PageID: "1", Kind: tasks.KindComment, ID: own}); it.Validate() != nil {
		return ""
	}
	return own
}

// markOp is one change of a delivery that marks a target in the ledger
// (markOf): its Page, its target, its verb and its time (created_time).
type markOp struct {
	page string
	t    tasks.Target
	verb string
	at   time.Time
}

// webhookMarksParallel is how many of a delivery's marks are written at once.
const webhookMarksParallel = 8

// markAll writes a delivery's marks (markTarget), webhookMarksParallel at a
// time, and returns how many changed the ledger and how many did not. The
// marks of one target are written one after the other in the delivery's
// order (a hide, then an unhide, of the same comment); those of different
// targets do not depend on each other. Each costs a Redis round trip, and a
// replica's WAIT on Sentinel or a Cluster: one after the other, a delivery of
// 1,000 removes took 2.5 s on a Redis 2 ms away and ran past the delivery's
// deadline from about 7 ms, at every redelivery. On error it returns the
// first mark that failed and its error; the marks not yet started are not
// written (Meta delivers the change again).
func (h *webhook) markAll(ctx context.Context, ops []markOp) (marked, unchanged int, failed markOp, err error) {
	if len(ops) == 0 {
		return 0, 0, markOp{}, nil
	}
	byTarget := map[markOp][]markOp{} // keyed by page and target, verb ""
	var order []markOp
	for _, op := range ops {
		k := markOp{page: op.page, t: op.t}
		if _, ok := byTarget[k]; !ok {
			order = append(order, k)
		}
		byTarget[k] = append(byTarget[k], op)
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		stop = make(chan struct{}) // closed at the first error
	)
	fail := func(op markOp, e error) {
		mu.Lock()
		defer mu.Unlock()
		if err == nil {
			failed, err = op, e
			close(stop)
		}
	}
	slots := make(chan struct{}, webhookMarksParallel)
dispatch:
	for _, k := range order {
		select {
		case slots <- struct{}{}:
		case <-stop:
			break dispatch
		case <-ctx.Done():
			fail(byTarget[k][0], fmt.Errorf("mark %s of page %s: %w", k.t, k.page, ctx.Err()))
			break dispatch
		}
		wg.Add(1)
		go func(seq []markOp) {
			defer wg.Done()
			defer func() { <-slots }()
			for _, op := range seq {
				select {
				case <-stop:
					return
				default:
				}
				changed, e := h.markTarget(ctx, op)
				if e != nil {
					fail(op, e)
					return
				}
				mu.Lock()
				if changed {
					marked++
				} else {
					unchanged++
				}
				mu.Unlock()
			}
		}(byTarget[k])
	}
	wg.Wait()
	return marked, unchanged, failed, err
}

// markTarget records that the Page hid the comment t, showed it again, or
// that the comment or post t was removed: a hidden or removed target's
// reply, queued and not yet sent, is then not sent (the worker's
// reservation finds the mark, tasks.HiddenReason or
// tasks.RemovedReasonOf). It reports whether the ledger changed.
func (h *webhook) markTarget(ctx context.Context, op markOp) (bool, error) {
	page, t, verb := op.page, op.t, op.verb
	var changed bool
	var err error
	switch verb {
	case "hide":
		changed, err = h.p.Hidden.MarkHidden(ctx, page, t.ID, op.at)
	case "unhide":
		changed, err = h.p.Hidden.UnmarkHidden(ctx, page, t.ID, op.at)
	default:
		changed, err = h.p.Hidden.MarkRemoved(ctx, page, t)
	}
	if err == nil {
		h.log.Debug("webhook "+string(t.Kind)+" "+verb, slog.String("page_id", page), slog.String(string(t.Kind)+"_id", t.ID), slog.Bool("recorded", changed))
	}
	return changed, err
}

// shownItem is the webhook item of the Page's unhide of the comment id
// (v, received at now, Unix ms): Shown is the change's created_time, or now
// when it has none, so that each unhide reads the comment once, Meta's
// redeliveries of it included (those without a time each read it: a Graph
// read more, never a second reply). A malformed post_id is left out: the
// item finds the post from the comment's id.
func shownItem(page, id string, v changeValue, now int64) tasks.WebhookItem {
	it := tasks.WebhookItem{PageID: page, Kind: tasks.KindComment, ID: id, PostID: v.PostID, ReceivedAt: now, Shown: now}
	if !v.At.IsZero() && v.At.UnixMilli() > 0 {
		it.Shown = v.At.UnixMilli()
	}
	if it.Validate() != nil {
		it.PostID = ""
	}
	return it
}

// whyAttr is the log attribute of why a change is ignored: it may quote the
// delivery's field, verb or item, shown clipped and never holding a secret
// of the configuration.
func (h *webhook) whyAttr(why string) slog.Attr {
	return slog.String("why", redactedValue(why, h.secrets, clipField, "a reason"))
}

// idHoldsSecret reports whether a change's comment_id or post_id holds one
// of the configuration's secrets (config.IDHoldsSecret).
func (h *webhook) idHoldsSecret(v changeValue) bool {
	return config.IDHoldsSecret(v.CommentID, h.secrets) || config.IDHoldsSecret(v.PostID, h.secrets)
}

// itemOf returns the webhook item of a change, or why it is ignored.
func itemOf(page *config.Page, known bool, pageID, field string, v changeValue) (tasks.WebhookItem, string) {
	switch {
	case !known:
		return tasks.WebhookItem{}, "unknown page"
	case field != "feed":
		return tasks.WebhookItem{}, "field " + field
	case v.Verb != "add" && !(v.Item == "comment" && (v.Verb == "edited" || v.Verb == "edit")):
		// A person's edit of a comment (Meta's verb edited, at times
		// edit) is judged again on its current text; an edit of a post is
		// not: a visitor's post is answered on what it first said.
		return tasks.WebhookItem{}, "verb " + v.Verb
	case v.From.ID == pageID:
		return tasks.WebhookItem{}, "the page's own"
	}
	it := tasks.WebhookItem{PageID: pageID}
	switch v.Item {
	case "comment":
		if !page.Replies(config.ReplyComments) {
			return it, "page does not reply to comments"
		}
		it.Kind, it.ID, it.PostID = tasks.KindComment, v.CommentID, v.PostID
		if it.Validate() != nil {
			// A post_id that is no id leaves the comment to be read
			// without it (its id tells its post, as for a change without
			// post_id), rather than dropped, as an unhide's read is.
			it.PostID = ""
		}
		if v.Verb != "add" {
			// Its own TaskID: the add's item, kept
			// tasks.WebhookItemRetention, would take it for a redelivery.
			it.Edited = v.EditKey
		}
	case "post", "status", "photo", "video", "share", "link":
		// A visitor's post arrives as item post, or status, photo, video,
		// share or link by what it holds; its id is post_id. The worker reads
		// it from Graph before anything is enqueued.
		if !page.Replies(config.ReplyPosts) {
			return it, "page does not reply to posts"
		}
		it.Kind, it.ID = tasks.KindPost, v.PostID
	default:
		return it, "item " + v.Item
	}
	if err := it.Validate(); err != nil {
		return it, "malformed: " + err.Error()
	}
	return it, ""
}

// signed reports whether header is "sha256=" and the hex HMAC-SHA256 of body
// keyed by the app secret, compared in constant time.
func (h *webhook) signed(header string, body []byte) bool {
	if h.p.AppSecret == "" {
		return false
	}
	sig, ok := strings.CutPrefix(strings.TrimSpace(header), "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(h.p.AppSecret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
