package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/metrics"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// ReplyRequest is one reply asked for through POST /v1/replies: a Page, exactly
// one target (comment_id, post_id or conversation_id) and the text to send.
type ReplyRequest struct {
	PageID         string `json:"page_id"`
	CommentID      string `json:"comment_id,omitempty"`
	PostID         string `json:"post_id,omitempty"`
	ConversationID string `json:"conversation_id,omitempty"`
	Text           string `json:"text"`
}

// ReplyResult is the answer for one reply: its id (the target, "comment:<id>",
// "post:<id>" or "message:<id>", also the asynq TaskID) and state, or an error.
// In a batch, Status is the HTTP status the reply would have had alone.
type ReplyResult struct {
	Status int          `json:"status,omitempty"`
	ID     string       `json:"id,omitempty"`
	State  string       `json:"state,omitempty"`
	Error  *errorDetail `json:"error,omitempty"`
	// ErrorClass is, on a 409 for a target failed for good (state
	// archived) or one whose reply waits after an error, GET
	// /v1/replies/{id}'s error_class.
	ErrorClass string `json:"error_class,omitempty"`
	// RetryAfter is, on a 503, the seconds to wait before asking again
	// (retryAfterSlot, retryAfterPause, redisRetryAfter); a single reply's
	// answer has it in its Retry-After header too.
	RetryAfter int `json:"retry_after,omitempty"`

	// redisAway: Redis was out of reach (tasks.RedisAway) when the reply
	// was to be queued; the rest of a batch is not tried.
	redisAway bool
}

// BatchResponse is the answer to a batch: 207 Multi-Status, one result per
// reply, in the order of the request.
type BatchResponse struct {
	Results []ReplyResult `json:"results"`
}

// inputError is a request fault: 400 (or 413) naming the field at fault.
type inputError struct {
	status int
	msg    string
	field  string
}

func badInput(field, format string, args ...any) *inputError {
	return &inputError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...), field: field}
}

// unsupportedCoding is the 415's message for a body sent with a content
// coding other than identity (Content-Encoding's values), "" for none. The
// body is read as it comes, and a compressed one is not JSON: said so, it
// was a 400 "the body must be a JSON object". A coding is named only when it
// is one of the registered few, never a caller's other text.
func unsupportedCoding(values []string) string {
	for _, v := range values {
		for c := range strings.SplitSeq(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			switch c {
			case "", "identity":
				continue
			case "gzip", "x-gzip", "deflate", "br", "zstd", "compress", "x-compress":
				return "Content-Encoding " + c + " is not supported: send the body uncompressed"
			}
			return "this Content-Encoding is not supported: send the body uncompressed"
		}
	}
	return ""
}

// utf8BOM is the byte order mark some tools write before UTF-8 text.
var utf8BOM = []byte("\ufeff")

// decodeReplies reads a POST /v1/replies body: one ReplyRequest, or
// {"replies":[...]} with 1 to MaxBatch of them; an object may name a member
// once only. A batch item that cannot be decoded gets its own error in
// itemErrs; the others go on. A long unknown member's name is not quoted
// (unknownField).
func decodeReplies(body []byte) (reqs []ReplyRequest, itemErrs []*inputError, batch bool, e *inputError) {
	// RFC 8259 §8.1 lets a parser ignore a byte order mark; Windows tools
	// (PowerShell 5's UTF8 encoding) write one.
	body = bytes.TrimSpace(bytes.TrimPrefix(body, utf8BOM))
	if len(body) == 0 {
		return nil, nil, false, badInput("", "empty body: send a JSON object")
	}
	if body[0] != '{' {
		// A caller sending a bare array of replies is told the batch's shape.
		return nil, nil, false, badInput("", "the body must be a JSON object: one reply, or {\"replies\":[...]} for a batch")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, nil, false, jsonError(err, "")
	}
	raw, isBatch := top["replies"]
	if !isBatch {
		var r ReplyRequest
		if e := decodeOne(body, &r, ""); e != nil {
			return nil, nil, false, e
		}
		return []ReplyRequest{r}, []*inputError{nil}, false, nil
	}
	for k := range top {
		if k != "replies" {
			return nil, nil, true, unknownField("", k, "next to replies")
		}
	}
	// The map kept the last of several "replies" (and every member is one
	// by now); the body's own members say whether there were more.
	n := 0
	members(body, func(name string) bool {
		if name == "replies" {
			n++
		}
		return n < 2
	})
	if n > 1 {
		return nil, nil, true, badInput("replies", "replies is given twice")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || items == nil {
		return nil, nil, true, badInput("replies", "replies must be an array of reply objects")
	}
	if len(items) == 0 {
		return nil, nil, true, badInput("replies", "replies is empty")
	}
	if len(items) > MaxBatch {
		return nil, nil, true, badInput("replies", "replies holds %d items; at most %d per request", len(items), MaxBatch)
	}
	reqs = make([]ReplyRequest, len(items))
	itemErrs = make([]*inputError, len(items))
	for i, it := range items {
		itemErrs[i] = decodeOne(it, &reqs[i], fmt.Sprintf("replies[%d].", i))
	}
	return reqs, itemErrs, true, nil
}

// decodeOne decodes one reply object strictly: unknown fields, wrong types and
// a field named twice are errors naming the field. b is part of a body that
// decodeReplies has had through json.Unmarshal, so valid JSON.
func decodeOne(b []byte, r *ReplyRequest, prefix string) *inputError {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return badInput(strings.TrimSuffix(prefix, "."), "a reply must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(r); err != nil {
		return jsonError(err, prefix)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badInput(strings.TrimSuffix(prefix, "."), "unexpected data after the JSON object")
	}
	// Checked last: an unknown field or a wrong type anywhere in the object
	// stays the decoder's error, as an unknown field given twice does.
	if e := fieldTwice(b, prefix); e != nil {
		return e
	}
	return invalidUTF8(b, prefix)
}

// invalidUTF8 names the first member (in name order) of a decoded object b
// whose value is not valid UTF-8, or holds a UTF-16 surrogate escape
// (\uD800 to \uDFFF) without its pair: encoding/json would have put U+FFFD
// in place of either, and the reply would have gone out so.
func invalidUTF8(b []byte, prefix string) *inputError {
	valid := utf8.Valid(b)
	if valid && !bytes.Contains(b, []byte(`\u`)) && !bytes.Contains(b, []byte(`\U`)) {
		return nil
	}
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m) // decoded once already
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !utf8.Valid(m[k]) || loneSurrogate(m[k]) {
			return badInput(prefix+k, "%s is not valid UTF-8 (or holds half of a UTF-16 surrogate pair)", k)
		}
	}
	if !valid {
		return badInput(strings.TrimSuffix(prefix, "."), "the object is not valid UTF-8")
	}
	return nil
}

// loneSurrogate reports whether the JSON string raw decodes to more U+FFFD
// than it writes, as \uFFFD or as the character itself: the others come from
// surrogate escapes without their pair.
func loneSurrogate(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false // not a string
	}
	decoded := strings.Count(s, "\uFFFD")
	if decoded == 0 {
		return false
	}
	written := bytes.Count(raw, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(raw), []byte(`\ufffd`))
	return decoded > written
}

// replyFields are ReplyRequest's JSON member names, by field index.
var replyFields = func() []string {
	t := reflect.TypeFor[ReplyRequest]()
	names := make([]string, t.NumField())
	for i := range names {
		f := t.Field(i)
		if names[i], _, _ = strings.Cut(f.Tag.Get("json"), ","); names[i] == "" {
			names[i] = f.Name
		}
	}
	return names
}()

// replyField returns the index in replyFields of the field encoding/json
// fills from a member called name (escapes undone), or -1: the field of that
// exact name, else the one equal to it under Unicode case folding
// (encoding/json's foldName is bytes.EqualFold), so "Comment_ID" and
// "comment_id" both fill CommentID.
func replyField(name string) int {
	for i, f := range replyFields {
		if name == f {
			return i
		}
	}
	for i, f := range replyFields {
		if bytes.EqualFold([]byte(name), []byte(f)) {
			return i
		}
	}
	return -1
}

// fieldTwice is a 400 when the reply object b names a field more than once:
// encoding/json keeps the last value without a word, and the reply could go to
// a target the caller did not mean. Names compare as encoding/json matches
// them to fields (replyField). b has decoded into a ReplyRequest, so it is an
// object whose members all name a field, with a string or null each.
func fieldTwice(b []byte, prefix string) *inputError {
	var seen uint64 // by field index; ReplyRequest has far fewer than 64
	var e *inputError
	members(b, func(name string) bool {
		k := replyField(name)
		switch {
		case k < 0: // not after a strict decode
		case seen&(1<<k) == 0:
			seen |= 1 << k
		default:
			e = twiceError(b, k, name, prefix)
			return false
		}
		return true
	})
	return e
}

// twiceError names field k, given a second time as second in object b. The
// two spellings are quoted when they are not both the field's own name (no
// value is).
func twiceError(b []byte, k int, second string, prefix string) *inputError {
	var first string
	members(b, func(name string) bool {
		if replyField(name) == k {
			first = name
			return false
		}
		return true
	})
	f := replyFields[k]
	if first == f && second == f {
		return badInput(prefix+f, "%s is given twice", f)
	}
	return badInput(prefix+f, "%s is given twice (as %q and %q: names match case-insensitively)",
		f, clipField(first), clipField(second))
}

// jsonError turns a decoding error into a message naming the field.
func jsonError(err error, prefix string) *inputError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		f := te.Field
		if f == "" {
			return badInput(strings.TrimSuffix(prefix, "."), "expected a JSON object, got %s", te.Value)
		}
		return badInput(prefix+f, "%s must be a string, not %s", prefix+f, te.Value)
	case errors.As(err, &se):
		return badInput(strings.TrimSuffix(prefix, "."), "malformed JSON at byte %d: %v", se.Offset, se)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// The decoder quotes the name with %q: unquote it, so that a name
		// holding a quote or a backslash is named (and measured) as sent.
		f := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if u, uerr := strconv.Unquote(f); uerr == nil {
			f = u
		}
		e := unknownField(prefix, f, "(fields: page_id, comment_id, post_id, conversation_id, text)")
		if a, ok := fieldAliases[strings.ToLower(f)]; ok {
			e.msg += "; did you mean " + a + "?"
		}
		return e
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return badInput(strings.TrimSuffix(prefix, "."), "truncated JSON")
	}
	return badInput(strings.TrimSuffix(prefix, "."), "malformed JSON: %v", err)
}

// unknownField refuses an unknown member called name, then what follows.
// A name of at most echoMax bytes is quoted, in the message and as the
// field; a longer one never is, whatever it holds (echoMax).
func unknownField(prefix, name, then string) *inputError {
	if len(name) > echoMax {
		return badInput(strings.TrimSuffix(prefix, "."), "unknown field %s; its name, longer than %d bytes, is not repeated", then, echoMax)
	}
	return badInput(prefix+name, "unknown field %q %s", name, then)
}

// fieldAliases maps a reply object's unknown member that is a likely guess
// (Meta's Send API's "message", a target named without its _id), lower
// case, to the field meant. Only these fixed words get the hint: it names
// a field, never repeats the caller's name, so a name longer than echoMax
// (conversation) is still not quoted.
var fieldAliases = map[string]string{
	"message":      "text",
	"comment":      "comment_id",
	"post":         "post_id",
	"page":         "page_id",
	"conversation": "conversation_id",
}

// echoMax is the longest name of a client's an answer quotes back (an
// unknown member's of POST /v1/replies, a queue's the monitor does not
// have): no secret the configuration looks for in a text
// (config.HoldsSecret, 8 bytes and more) fits in it, and page_id, post_id
// and the queues' names do. A longer name is never quoted, whatever it
// holds. Quoting every name but one holding a secret told a caller which of
// its guesses held one, and a name may be megabytes long: one request
// tried as many 8-digit passwords as it holds. The caller knows what it
// sent.
const echoMax = 7

// clipField keeps a client's field name short in answers and logs.
func clipField(f string) string {
	if len(f) > 64 {
		return f[:64] + "..."
	}
	return f
}

// members calls f with the name of each member of the JSON object b in order,
// as encoding/json reads it (escapes undone), until f returns false. Values,
// nested objects too, are skipped, not decoded.
func members(b []byte, f func(name string) bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok || !f(name) {
			return
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return
		}
	}
}

// checked is a reply request that passed validation, before any Redis or Graph
// call.
type checked struct {
	page   *config.Page
	kind   tasks.Kind
	id     string
	field  string
	text   string
	target tasks.Target
}

// check validates r against the configured Pages; it makes no call.
func (s *Server) check(r *ReplyRequest, prefix string) (checked, *inputError) {
	var c checked
	switch {
	case r.PageID == "":
		return c, badInput(prefix+"page_id", "page_id is required")
	case !digits(r.PageID):
		return c, badInput(prefix+"page_id", "page_id must be a numeric Page id")
	case r.PageID[0] == '0':
		return c, badInput(prefix+"page_id", msgPageIDZero)
	}
	pg, ok := s.pages[r.PageID]
	if !ok {
		return c, badInput(prefix+"page_id", "%s", unknownPageID())
	}
	c.page = pg
	n := 0
	for _, t := range []struct {
		v     string
		kind  tasks.Kind
		field string
	}{{r.CommentID, tasks.KindComment, "comment_id"}, {r.PostID, tasks.KindPost, "post_id"}, {r.ConversationID, "", "conversation_id"}} {
		if t.v == "" {
			continue
		}
		n++
		if n > 1 {
			return c, badInput(prefix+t.field, "give only one of comment_id, post_id and conversation_id")
		}
		c.kind, c.id, c.field = t.kind, t.v, prefix+t.field
	}
	if n == 0 {
		return c, badInput(prefix+"comment_id", "one of comment_id, post_id or conversation_id is required")
	}
	if err := tasks.CheckShape(c.kind, c.id); err != nil {
		// Before the secrets are looked for: an id that can never be
		// queued is answered alike whatever it holds, so its answer
		// tells nothing of them. Never the value.
		return c, badInput(c.field, "%s is %v", strings.TrimPrefix(c.field, prefix), err)
	}
	if config.IDHoldsSecret(c.id, s.secrets) {
		// As a text holding one: the id would be the task's id, its
		// payload's target and the ledger's key, in the monitor and the
		// logs. Never the value.
		return c, badInput(c.field, "%s holds a secret of this server's configuration (an access token, the app secret, an API token, a password or the webhook verify token), not a Graph id", strings.TrimPrefix(c.field, prefix))
	}
	kind := c.kind
	if kind == "" {
		kind = tasks.KindMessage // validated as an id like any other
	}
	t, err := tasks.ParseTarget(string(kind) + ":" + c.id)
	if err != nil {
		return c, badInput(c.field, "%s is not a valid Graph id: %s", strings.TrimPrefix(c.field, prefix), tasks.IDChars)
	}
	c.target = t
	text, err := config.CheckText(r.Text)
	var ce *config.ControlError
	switch {
	case errors.Is(err, config.ErrTextEmpty):
		return c, badInput(prefix+"text", "text is required and must not be blank (white space and invisible characters such as U+200B do not count)")
	case errors.As(err, &ce):
		return c, badInput(prefix+"text", "text holds a control character (U+%04X at character %d); only tab, newline and carriage return are allowed",
			ce.Rune, ce.At)
	case errors.Is(err, config.ErrTextTooLong):
		return c, badInput(prefix+"text", "text is longer than %d characters", config.MaxTextRunes)
	case err != nil:
		return c, badInput(prefix+"text", "text: %s", strings.TrimPrefix(err.Error(), "config: "))
	}
	if config.HoldsSecret(text, s.secrets) {
		// Never the value nor which secret it is: the caller has it, and
		// the message goes to logs and clients.
		return c, badInput(prefix+"text", "text holds a secret of this server's configuration (an access token, the app secret, an API token, a password or the webhook verify token): the reply would send it to the person it answers")
	}
	c.text = text
	return c, nil
}

// msgPageIDZero refuses a page_id with a leading zero. No Page id has one
// (config refuses it too): such a page_id is a Page's id in a form Graph
// never writes, which would name no Page here, or no id at all, such as a
// digit-only secret passed in its place, so it is not echoed.
const msgPageIDZero = "page_id starts with a leading zero, which no Page id has: give the Page's id as Graph writes it"

// unknownPageID is the answer's message for a numeric page_id that names no
// Page of the configuration. The page_id is never quoted: quoting it unless
// it was a secret (a digit-only Redis password, an API token) told a caller
// which of its guesses was one, a 6-digit password in a million requests;
// the caller knows what it sent, and a batch's answer names the item.
func unknownPageID() string {
	return "page_id is not a Page of this server's configuration (the value is not repeated)"
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != "" && len(s) <= 32
}

// postReplies answers POST /v1/replies.
func (s *Server) postReplies(w http.ResponseWriter, r *http.Request) {
	w = s.withWriteBudget(w)
	if msg := unsupportedCoding(r.Header.Values("Content-Encoding")); msg != "" {
		// RFC 9110 §12.5.3: a 415 for a content coding says which it takes.
		w.Header().Set("Accept-Encoding", "identity")
		writeError(w, http.StatusUnsupportedMediaType, msg, "")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.p.MaxBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes: send fewer replies per request (a batch holds at most %d)", s.p.MaxBody, MaxBatch), "")
			return
		}
		writeError(w, http.StatusBadRequest, "cannot read the body", "")
		return
	}
	reqs, itemErrs, batch, e := decodeReplies(body)
	if e != nil {
		writeError(w, e.status, e.msg, e.field)
		return
	}
	results := make([]ReplyResult, len(reqs))
	redisDown := false
	var budget *batchBudget
	if batch {
		budget = s.newBatchBudget(time.Now())
	}
	for i := range reqs {
		prefix := ""
		if batch {
			prefix = fmt.Sprintf("replies[%d].", i)
		}
		if itemErrs[i] != nil {
			results[i] = ReplyResult{Status: itemErrs[i].status, Error: &errorDetail{Message: itemErrs[i].msg, Field: itemErrs[i].field}}
			continue
		}
		if redisDown {
			// Redis could not take the last reply after waiting it out:
			// the rest of the batch is not tried, each waiting as long
			// again (a batch of 500 would take minutes, past any client's
			// timeout). Asked again, the replies queued answer 409. An item
			// that is wrong still says so.
			if _, e := s.check(&reqs[i], prefix); e != nil {
				results[i] = ReplyResult{Status: e.status, Error: &errorDetail{Message: e.msg, Field: e.field}}
			} else {
				results[i] = redisUnavailable()
			}
			continue
		}
		results[i] = s.enqueueOne(r.Context(), &reqs[i], prefix, budget)
		redisDown = results[i].redisAway
	}
	if batch {
		writeJSON(w, http.StatusMultiStatus, BatchResponse{Results: results})
		return
	}
	res := results[0]
	status := res.Status
	res.Status = 0
	if status == http.StatusServiceUnavailable && res.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(res.RetryAfter))
	}
	writeJSON(w, status, res)
}

// redisFailed logs a request's Redis failure (answered 503, "try again"):
// an ERROR, but when Redis is away (tasks.RedisAway) once per
// logspace.Period for the lines of every request (enqueue, task info,
// ledger, conversation read), the others at debug, counted in the next
// ERROR's "repeated": with Redis away every request fails alike.
//
// A request whose caller left (its context ended) fails its next Redis call
// with "context canceled": not Redis's failure, and a caller could repeat it
// at will, so at debug.
func (s *Server) redisFailed(ctx context.Context, log *slog.Logger, msg string, err error, attrs ...any) {
	lvl, repeated := slog.LevelError, 0
	switch {
	case ctx.Err() != nil:
		lvl = slog.LevelDebug
		attrs = append(attrs, slog.String("why", "the request ended (the caller left)"))
	case tasks.RedisAway(err):
		lvl, repeated = s.redisAwayLog.Level(s.now(), slog.LevelError)
	}
	attrs = append(attrs, slog.String("error", err.Error()))
	if repeated > 0 {
		attrs = append(attrs, slog.Int("repeated", repeated))
	}
	log.Log(ctx, lvl, msg, attrs...)
}

// redisUnavailable is the answer to a reply Redis could not take.
func redisUnavailable() ReplyResult {
	return ReplyResult{Status: http.StatusServiceUnavailable, Error: &errorDetail{Message: redisUnavailableMsg}, RetryAfter: redisRetryAfter}
}

// redisRetryAfter is the Retry-After (seconds) of a 503 for Redis away: the
// API has ridden out a Redis that restarts quickly (go-redis's retries: about
// 2 s when its connections are refused, up to about 10 s when it stalls), so
// a retry soon after is the advice ("try again").
const redisRetryAfter = 2

// retryAfterSlot is the Retry-After (whole seconds, at least 1) of a 503 for
// a conversation read slot wait away. A slot within heldReadAhead is held
// for the conversation (tasks.Ledger.TakeReadHeldAhead): a retry up to the
// request's wait for a slot (conversationReadWait, at least 2 s) before it
// waits for it, and one up to a tenth of an interval after it still takes
// it; one later books another. A slot further is neither booked nor held:
// the retry books the next free slot, that one when no request or poll
// booked it meanwhile.
// That tenth is 1 s at 6/m and less at a faster rate, so the value is the
// wait less half a second, rounded down: a client retrying at exactly
// Retry-After comes between 1.5 s and 0.5 s before the slot (plus its
// round trip), never after it by more than its round trip less 0.5 s. (The
// wait rounded up could land a retry up to 1 s late, past the held slot.)
func retryAfterSlot(wait time.Duration) int {
	return max(int((wait-500*time.Millisecond)/time.Second), 1)
}

// retryAfterPause is the Retry-After (whole seconds, at least 1) of a 503
// for a Page paused for d: rounded up, as a retry before the pause ends is
// answered 503 again.
func retryAfterPause(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}

// FailedForGood says why t, of page, cannot get a reply, as the 409 and
// pagereply enqueue say it: the ledger's reason (the Page hid the comment,
// it or its post was removed, Graph refused the reply for good, its tasks
// ran out of retries too often), as GET /v1/replies/{id}'s last_error has
// it; only "failed for good" when that cannot be read. Not "Graph refused
// it": a hide or a remove never reached Graph.
func FailedForGood(ctx context.Context, l *tasks.Ledger, page string, t tasks.Target) string {
	msg, _ := failedForGood(ctx, l, page, t)
	return msg
}

// failedForGood is FailedForGood's message and the entry's error class
// (failedClass; "" when the entry cannot be read).
func failedForGood(ctx context.Context, l *tasks.Ledger, page string, t tasks.Target) (msg, class string) {
	why := "it failed for good"
	if en, err := l.Get(ctx, page, t); err == nil && en.Status == tasks.StatusFailed {
		if en.Reason != "" {
			why += ": " + en.Reason
		}
		class = failedClass(en)
	}
	return t.String() + " cannot get a reply: " + why, class
}

// The error classes of an archived reply (GET /v1/replies/{id}'s
// error_class, and a 409's for a target failed for good), besides the
// worker's words kept in the ledger (graph.FailureClass's permanent,
// app_not_live, page_broken, other; tasks.ClassUnsettled): one fixed word,
// never text of an answer or a request.
const (
	// classTransient: the task's retries ran out on transient answers (or
	// errors that were not Graph's); asking again queues it (202).
	classTransient = "transient"
	// classGivenUp: its tasks ran out of retries more than
	// tasks.MaxReplacements times and the enqueue gave it up: failed for
	// good, asking again answers 409.
	classGivenUp = tasks.ClassGivenUp
	// classTooOld: it waited past its Page's reply window, not sent.
	classTooOld = "too_old"
	// classHidden, classRemoved: the Page hid the comment, or the comment
	// or post was removed (a mark of the webhook's; Graph never saw it).
	classHidden  = "hidden"
	classRemoved = "removed"
	// classUnsettled: an earlier attempt's reply may have reached the
	// person and nothing can tell; not sent again (never two replies).
	classUnsettled = tasks.ClassUnsettled
	classOther     = graph.FailureOther
)

// failedClass is the error class of a target failed for good (entry): the
// class the worker kept with it, else one told from the reason an entry
// without the field has (a mark, a give-up, an older version's Graph
// error text, which ends "class <class>]"). A page_broken kept there is a
// Page-level answer (token, permission, policy block) the worker took as
// the reply's, not the Page's, as the Page's other replies went out (a
// Page broken pauses, and never fails a reply for good): page_broken, the
// Page's owner the one who can tell why, not permanent, a refusal about
// the person or the target. An unsettled reply an older version kept as
// "other" is told by its reason.
func failedClass(entry tasks.Entry) string {
	c := entry.Class
	switch {
	case c == classGivenUp || c == classUnsettled:
		return c
	case (c == "" || c == classOther) && entry.Reason == tasks.UnsettledReason:
		return classUnsettled
	case c != "":
	case entry.Reason == tasks.HiddenReason:
		return classHidden
	case entry.Reason == tasks.RemovedReason || entry.Reason == tasks.PostRemovedReason:
		return classRemoved
	case strings.HasPrefix(entry.Reason, tasks.GivenUpReason): // given up by an older version, without the class
		return classGivenUp
	case graph.AppNotLiveReason(entry.Reason):
		return graph.FailureAppNotLive
	default:
		c = textClass(entry.Reason)
	}
	switch c {
	case "page_broken", "permanent", graph.FailureAppNotLive:
		return c
	}
	return classOther
}

// textClass is the class a graph.Error's text names ("[..., class
// permanent]"), "" when it names none of Graph's classes.
func textClass(s string) string {
	for _, c := range [...]graph.Class{graph.ClassPermanent, graph.ClassPageBroken, graph.ClassTransient, graph.ClassThrottled} {
		w := "class " + c.String()
		if strings.Contains(s, w+"]") || strings.Contains(s, w+",") || strings.Contains(s, w+" (") {
			return c.String()
		}
	}
	return ""
}

// pausedText is in the error of a reply the worker put back because its
// Page is paused, before the pause's reason (worker's putBackPaused).
const pausedText = ": page paused: "

// heldClass is the error class of a reply waiting for its next attempt
// (retry, scheduled) after lastErr: throttled or page_broken while its
// Page is paused for that (a policy block is a Page broken; a Graph outage
// transient), else the class Graph's error names (a transient failure
// retried), "" for a wait that is no error's (the Page's rate used up, a
// send settling).
func heldClass(lastErr string) string {
	if _, reason, ok := strings.Cut(lastErr, pausedText); ok {
		word, _, _ := strings.Cut(reason, ":")
		switch word {
		case tasks.PauseThrottled:
			return word
		case tasks.PausePageBroken, tasks.PausePolicyBlock:
			return tasks.PausePageBroken
		case tasks.PauseGraphDown:
			return classTransient
		}
	}
	return textClass(lastErr)
}

// windowText is in the error of a reply the worker let go past its Page's
// reply window.
const windowText = "outside the Page's reply window"

// archivedClass is the error class of a reply whose task asynq archived
// with lastErr while the ledger has no failure of its target: too_old past
// the window, else its retries ran out (transient: asking again queues it).
func archivedClass(lastErr string) string {
	if strings.Contains(lastErr, windowText) {
		return classTooOld
	}
	return classTransient
}

const redisUnavailableMsg = "cannot queue the reply now (Redis unavailable); try again"

// enqueueOne validates and enqueues one reply and says how it went; budget
// is its batch's (nil for a request of one reply).
func (s *Server) enqueueOne(ctx context.Context, req *ReplyRequest, prefix string, budget *batchBudget) ReplyResult {
	c, e := s.check(req, prefix)
	if e != nil {
		return ReplyResult{Status: e.status, Error: &errorDetail{Message: e.msg, Field: e.field}}
	}
	reply := tasks.Reply{PageID: c.page.ID, Target: c.target, Text: c.text, Source: tasks.SourceAPI}
	if c.kind == "" {
		if res, ok := s.resolveConversation(ctx, c, &reply, budget); !ok {
			return res
		}
	}
	out, info, err := s.p.Enqueuer.EnqueueOn(ctx, c.page, reply)
	if err != nil {
		s.redisFailed(ctx, s.log, "api: enqueue", err, slog.String("page_id", reply.PageID), slog.String("target", reply.Target.String()))
		res := redisUnavailable()
		res.redisAway = tasks.RedisAway(err)
		return res
	}
	s.p.Metrics.Enqueued.WithLabelValues(reply.PageID, string(tasks.SourceAPI), string(out)).Inc()
	id := reply.Target.String()
	field := c.field
	switch out {
	case tasks.Enqueued:
		return ReplyResult{Status: http.StatusAccepted, ID: id, State: info.State.String()}
	case tasks.AlreadySent:
		s.p.Metrics.DuplicatesSkipped.WithLabelValues(reply.PageID, "ledger").Inc()
		return ReplyResult{Status: http.StatusConflict, ID: id, State: "sent",
			Error: &errorDetail{Message: id + " already has a reply: it was sent", Field: field}}
	case tasks.AlreadyFailed:
		msg, class := failedForGood(ctx, s.p.Ledger, reply.PageID, reply.Target)
		return ReplyResult{Status: http.StatusConflict, ID: id, State: "archived", ErrorClass: class,
			Error: &errorDetail{Message: msg, Field: field}}
	default: // AlreadyQueued
		s.p.Metrics.DuplicatesSkipped.WithLabelValues(reply.PageID, "taskid").Inc()
		state, replacing, class := "pending", false, ""
		if ti, err := s.p.Inspector.GetTaskInfo(tasks.QueueReplies, id); err == nil {
			state, replacing = stateOf(ti.State), ti.State == asynq.TaskStateArchived
			if ti.State == asynq.TaskStateRetry || ti.State == asynq.TaskStateScheduled {
				class = heldClass(ti.LastErr) // as GET /v1/replies/{id}
			}
			if ti.State == asynq.TaskStateCompleted {
				// As GET /v1/replies/{id}: a completed task is sent only
				// with the ledger's record (it completes without a send
				// on a webhook's mark). Its task finished between the
				// ledger's answer and asynq's, or it completed on a mark
				// and the target is claimed or being queued anew.
				state = "pending"
				if _, entry, err := s.p.Ledger.FindEntry(ctx, []string{reply.PageID}, reply.Target); err == nil {
					state = completedState(entry.Status)
				}
			}
		}
		msg := id + " already has a reply queued"
		if replacing {
			// An archived task here is one another request is replacing
			// now (tasks.Enqueuer holds its lock): the reply is on its way
			// again. Said archived, "completed without a send", the caller
			// took it as refused while the other request got its 202.
			state, msg = "pending", id+" already has a reply queued (another request is queuing it again now)"
		}
		switch state {
		case "sent":
			msg = id + " already has a reply: it was sent"
		case "archived":
			msg = id + " cannot get a reply now: its task completed without a send (GET /v1/replies/" + id + " says why)"
		case "skipped", "unknown":
			msg = id + " already has a reply task, completed without a send; ask again shortly (GET /v1/replies/" + id + " says why)"
		}
		return ReplyResult{Status: http.StatusConflict, ID: id, State: state, ErrorClass: class,
			Error: &errorDetail{Message: msg, Field: field}}
	}
}

// ConversationError says why a conversation reply cannot be made. BadInput
// errors are the caller's (unknown conversation, window closed); the others are
// Graph's.
type ConversationError struct {
	BadInput bool
	// Answered: the Page answered the person's latest message already (a
	// Page message after it, not Messenger's instant reply): the reply
	// would be a second answer, and is not queued (409, as for a target
	// already sent).
	Answered bool
	// Answer is the Page's message that answered it (with Answered).
	Answer *graph.Message
	Msg    string
	// Err is Graph's error when the read failed.
	Err error
	// PausedFor is, when Graph's answer paused the Page (throttled, a
	// broken Page, or a wait asked: worker.PausesPage), the pause set
	// (GuardedConversationReply), of kind Pause (tasks.PauseThrottled...).
	PausedFor time.Duration
	Pause     string
}

func (e *ConversationError) Error() string { return e.Msg }
func (e *ConversationError) Unwrap() error { return e.Err }

// ConversationReply points reply at the person's latest message in the Page's
// conversation conversationID, to be sent to the person's PSID (the participant
// who is not the Page). Its error is a *ConversationError: the person has no
// message to answer, or the last one is older than the 24-hour messaging window
// at now, or the Page answered it already (Answered, with the Page's message
// as Answer, reply.Target set to the person's message and reply.PSID to the
// person), or the conversation is not one Page and one person, or Graph
// cannot read the conversation.
func ConversationReply(ctx context.Context, g ConversationReader, page *config.Page, conversationID string, now time.Time, reply *tasks.Reply) error {
	bad := func(msg string) error { return &ConversationError{BadInput: true, Msg: msg} }
	gctx, cancel := context.WithTimeout(graph.WithPageID(ctx, page.ID), 15*time.Second)
	defer cancel()
	conv, err := g.Conversation(gctx, page.AccessToken, conversationID)
	if err != nil {
		switch graph.ClassOf(err) {
		case graph.ClassPermanent:
			return bad("Graph cannot read this conversation for the Page (unknown id, or not the Page's)")
		case graph.ClassPageBroken:
			return &ConversationError{Msg: "the Page's access token or permissions do not let it read conversations", Err: err}
		case graph.ClassThrottled:
			return &ConversationError{Msg: "Graph is throttling the Page; try again later", Err: err}
		}
		if ge := (*graph.Error)(nil); errors.As(err, &ge) && worker.PausesPage(err) {
			// A 503 with Retry-After (from Graph or a proxy in front of
			// it): the Page's calls wait that long.
			return &ConversationError{Msg: fmt.Sprintf("Graph asked to wait %s before the Page's next call; try again later", ge.RetryAfter.Round(time.Second)), Err: err}
		}
		return &ConversationError{Msg: "Graph did not answer the conversation read; try again", Err: err}
	}
	// The person and message the poll would answer too: the two paths must
	// pick the same ones, or they would answer one person twice.
	it, reason, why := intake.ConversationItemWhy(page.ID, conv)
	switch {
	case why == intake.WhyPageAnswered:
		// Someone answered the person in the Page's inbox after their
		// latest message: another reply to it is one the person did not
		// ask for, as Graph's "already replied" is for a comment. (A
		// message past the window is refused as such, below, first.)
		last := intake.PersonLatest(page.ID, conv.Messages)
		t, err := tasks.ParseTarget(string(tasks.KindMessage) + ":" + last.ID)
		if err != nil {
			return &ConversationError{Msg: "Graph gave a malformed message id"}
		}
		if err := windowClosed(page, last.CreatedTime.Time, now); err != nil {
			return err
		}
		person, _ := intake.ConversationPerson(page.ID, conv.Participants)
		reply.Target, reply.PSID = t, person.ID
		return &ConversationError{Answered: true, Answer: intake.PageAnswer(page.ID, conv.Messages, last), Msg: t.String() + ": " + why}
	case reason == intake.SkipCannotReply && why == intake.WhyNoMessageID, reason == intake.SkipOwn:
		return bad(intake.WhyNoPersonMsg)
	case reason != "":
		return bad(why)
	default:
		reply.PSID = it.PSID
	}
	if it.Created.IsZero() {
		// The poll skips such a message too (intake.Check): without its
		// time nothing shows Messenger's window still open, and a reply
		// queued without one would be sent at any age.
		return &ConversationError{Msg: "Graph gave no created_time for the person's latest message: cannot tell whether the 24-hour window is open"}
	}
	if err := windowClosed(page, it.Created, now); err != nil {
		return err
	}
	t, err := tasks.ParseTarget(it.Target.String())
	if err != nil {
		return &ConversationError{Msg: "Graph gave a malformed message id"}
	}
	reply.Target = t
	reply.ConversationID = conv.ID
	reply.Created = it.Created.UnixMilli()
	return nil
}

// windowClosed is ConversationReply's bad-input error for a person's message
// written at created, when it is outside the Page's messaging window at now.
func windowClosed(page *config.Page, created, now time.Time) error {
	w := intake.Window(page, tasks.KindMessage)
	switch {
	case now.Sub(created) <= w:
		return nil
	case w < intake.MessagingWindow:
		return &ConversationError{BadInput: true, Msg: "the person's last message is older than the Page's reply window (max_age " + w.String() + ")"}
	}
	return &ConversationError{BadInput: true, Msg: "the person's last message is older than 24 hours: Messenger allows no reply"}
}

// batchReadReserve is the part of a batch's time (its write timeout, from
// the request) kept for what follows an item's wait for its conversation
// read slot: the Graph read itself (graph.timeout, 10 s by default), the
// enqueue, and the rest of the batch's items that need no read.
const batchReadReserve = 15 * time.Second

// batchBudget is a batch's time for its conversation replies' reads: each
// item waits for its Page's read slot (one at a time, at the Page's
// conversation read schedule) only while the batch can still answer within
// its write timeout, counted from the request. An item whose slot is
// further than that, or than the wait a single request gets, is answered
// 503 with the time to its slot, booked and held for its conversation as
// for a single request when within heldReadAhead (neither when further);
// the batch's later items of that Page are answered 503 too, with the time
// to the slots they would have had, booking none (each booking a held slot
// ahead would keep the Page's poll from reading for as long as those slots
// run). A batch is handled by one goroutine: no
// lock.
type batchBudget struct {
	until time.Time
	// later holds, by Page, the first item refused for its slot: when,
	// the wait it was told, and how many items of the Page were refused
	// after it.
	later map[string]*batchLater
}

type batchLater struct {
	at    time.Time
	wait  time.Duration
	after int
}

// newBatchBudget is the budget of a batch that came at start.
func (s *Server) newBatchBudget(start time.Time) *batchBudget {
	return &batchBudget{until: start.Add(s.writeTimeout() - batchReadReserve), later: map[string]*batchLater{}}
}

// readWait is how long an item of page in the batch may wait for its read
// slot, at most maxWait; refused, with the wait to tell, when an earlier
// item of page was refused its slot (nothing booked).
func (b *batchBudget) readWait(page *config.Page, maxWait time.Duration) (wait time.Duration, refused bool) {
	if l, ok := b.later[page.ID]; ok {
		l.after++
		d := l.wait + time.Duration(l.after)*worker.ConversationReadLimit(page).Interval - time.Since(l.at)
		return max(d, time.Second), true
	}
	return max(min(maxWait, time.Until(b.until)), 0), false
}

// refused records that an item of page was refused its read slot, wait away.
func (b *batchBudget) refused(page *config.Page, wait time.Duration) {
	if _, ok := b.later[page.ID]; !ok {
		b.later[page.ID] = &batchLater{at: time.Now(), wait: wait}
	}
}

// resolveConversation is ConversationReply for the API; ok is false when res
// is the answer instead. budget is the item's batch's (nil: a single reply).
func (s *Server) resolveConversation(ctx context.Context, c checked, reply *tasks.Reply, budget *batchBudget) (res ReplyResult, ok bool) {
	if s.p.Graph == nil {
		return ReplyResult{Status: http.StatusBadRequest, Error: &errorDetail{Message: "conversation replies are not available on this server", Field: c.field}}, false
	}
	unavailable := func(msg string) (ReplyResult, bool) {
		return ReplyResult{Status: http.StatusServiceUnavailable, Error: &errorDetail{Message: msg, Field: c.field}}, false
	}
	unavailableFor := func(retryAfter int, msg string) (ReplyResult, bool) {
		res, ok := unavailable(msg)
		res.RetryAfter = retryAfter
		return res, ok
	}
	maxWait := conversationReadWait(c.page)
	if budget != nil {
		wait, refused := budget.readWait(c.page, maxWait)
		if refused {
			ra := retryAfterSlot(wait)
			return unavailableFor(ra, fmt.Sprintf("the Page's conversation reads are booked for the next %s (this batch's earlier items took the ones it could wait for); try again in %d s", wait.Round(time.Second), ra))
		}
		maxWait = wait
	}
	log := s.log.With(slog.String("page_id", c.page.ID))
	err := GuardedConversationReply(ctx, s.p.Ledger, s.p.Metrics, s.p.Graph, c.page, c.id, s.p.Now, reply, maxWait, log)
	if err == nil {
		return ReplyResult{}, true
	}
	var (
		pe    *tasks.PausedError
		later *ReadLaterError
		ce    *ConversationError
	)
	switch {
	case errors.As(err, &pe):
		return unavailableFor(retryAfterPause(pe.For), fmt.Sprintf("the Page is paused for %s (%s); try again later", pe.For.Round(time.Second), tasks.PauseKind(pe.Reason)))
	case errors.As(err, &later):
		if budget != nil {
			budget.refused(c.page, later.Wait)
		}
		// A slot within heldReadAhead is held for the conversation: a
		// retry at Retry-After takes it (retryAfterSlot). One further is
		// neither booked nor held: the retry books the next free slot.
		ra := retryAfterSlot(later.Wait)
		return unavailableFor(ra, fmt.Sprintf("the Page's conversation reads are booked for the next %s; try again in %d s", later.Wait.Round(time.Second), ra))
	case errors.As(err, new(*WaitEndedError)):
		return unavailable("the request ended while waiting to read the conversation")
	case errors.As(err, new(*RedisError)):
		s.redisFailed(ctx, log, "api: take conversation read", err)
		return unavailableFor(redisRetryAfter, "cannot read the conversation now (Redis unavailable); try again")
	case errors.As(err, &ce) && ce.Answered:
		// Recorded as the worker records a reply the Page answered while
		// it waited: the target as sent with the Page's message, which
		// GET /v1/replies/{id} then shows, and the person as answered
		// then, so that no reply queued for this message or an earlier
		// one of theirs is sent besides.
		if ce.Answer != nil {
			if rerr := worker.RecordAnswered(ctx, s.p.Ledger, reply, ce.Answer); rerr != nil {
				s.redisFailed(ctx, log, "api: record the Page's answer", rerr, slog.String("target", reply.Target.String()))
				res := ReplyResult{Status: http.StatusServiceUnavailable,
					Error:      &errorDetail{Message: "the Page answered " + reply.Target.String() + " already, and that cannot be recorded now (Redis unavailable); try again", Field: c.field},
					RetryAfter: redisRetryAfter}
				res.redisAway = tasks.RedisAway(rerr)
				return res, false
			}
		}
		s.p.Metrics.DuplicatesSkipped.WithLabelValues(c.page.ID, "answered").Inc()
		return ReplyResult{Status: http.StatusConflict, ID: reply.Target.String(), State: "sent",
			Error: &errorDetail{Message: err.Error(), Field: c.field}}, false
	case errors.As(err, &ce) && ce.BadInput:
		return ReplyResult{Status: http.StatusBadRequest, Error: &errorDetail{Message: err.Error(), Field: c.field}}, false
	}
	if ctx.Err() != nil {
		// The caller left during the read, cutting it short: not Graph's
		// failure (a caller could repeat it at will, on every Page).
		log.Debug("api: read conversation", slog.String("conversation_id", c.id), slog.String("error", err.Error()),
			slog.String("why", "the request ended (the caller left)"))
		return unavailable("the request ended while reading the conversation")
	}
	// Graph failing the same way repeats for every request a caller
	// retries (up to the Page's read slots, about 2 a second): a WARN once
	// per logspace.Period for each Page and kind of failure (its class),
	// the others at debug, counted in the next WARN's "repeated".
	lvl, repeated := s.convReadLog.Failing(s.now(), c.page.ID, graph.ClassOf(err).String(), slog.LevelWarn)
	attrs := []any{slog.String("conversation_id", c.id), slog.String("error", err.Error())}
	if errors.As(err, &ce) && ce.Err != nil {
		// Graph's own error (redacted), which the answer's words leave out.
		attrs = append(attrs, slog.String("cause", ce.Err.Error()))
	}
	if repeated > 0 {
		attrs = append(attrs, slog.Int("repeated", repeated))
	}
	log.Log(ctx, lvl, "api: read conversation", attrs...)
	if errors.As(err, &ce) && ce.PausedFor > 0 && (ce.Pause == tasks.PauseThrottled || ce.Pause == tasks.PauseGraphDown) {
		// The read paused the Page, for the time Graph's answer gave:
		// answered as a request for the paused Page is, with when to try
		// again (a broken token stays a 502: it waits for the operator).
		return unavailableFor(retryAfterPause(ce.PausedFor), fmt.Sprintf("%s: the Page is paused for %s (%s); try again later",
			strings.TrimSuffix(ce.Msg, "; try again later"), ce.PausedFor.Round(time.Second), ce.Pause))
	}
	return ReplyResult{Status: http.StatusBadGateway, Error: &errorDetail{Message: err.Error(), Field: c.field}}, false
}

// ReadLaterError: the Page's conversation reads are booked further ahead
// than the caller would wait; Wait is the time to its slot, held for the
// conversation when within heldReadAhead, else neither booked nor held.
type ReadLaterError struct{ Wait time.Duration }

func (e *ReadLaterError) Error() string {
	return fmt.Sprintf("the Page's conversation reads are booked for the next %s", e.Wait.Round(time.Second))
}

// WaitEndedError: the caller's context ended while it waited for the Page's
// conversation read slot (not a Graph call that timed out: that is Graph's
// error, in a *ConversationError).
type WaitEndedError struct{ Err error }

func (e *WaitEndedError) Error() string {
	return "ended while waiting to read the conversation: " + e.Err.Error()
}
func (e *WaitEndedError) Unwrap() error { return e.Err }

// RedisError is a failure to read or book the Page's pause or read slot.
type RedisError struct{ Err error }

func (e *RedisError) Error() string { return "take conversation read: " + e.Err.Error() }
func (e *RedisError) Unwrap() error { return e.Err }

// GuardedConversationReply is ConversationReply as every caller outside the
// poll must make it (the API, pagereply enqueue): the read is a Graph call
// like the poll's, so it honours the Page's pause (a *tasks.PausedError) and
// the Page's conversation read schedule (about 2 a second, shared with the
// poll), waiting at most maxWait for a slot (else a *ReadLaterError, the
// slot held for the conversation's next request when it comes by then if it
// is within heldReadAhead, else neither booked nor held); a
// read Graph throttles or refuses for the Page (token, permissions), or
// answers with a time to call again (503 with Retry-After:
// worker.PausesPage), pauses it, as any other call does (the
// *ConversationError's PausedFor): Meta lengthens a block that is ignored,
// and a caller trying again would otherwise keep calling. Redis trouble is
// a *RedisError.
func GuardedConversationReply(ctx context.Context, l *tasks.Ledger, m *metrics.Metrics, g ConversationReader, page *config.Page,
	conversationID string, now func() time.Time, reply *tasks.Reply, maxWait time.Duration, log *slog.Logger) error {
	// A slot further than maxWait, up to heldReadAhead, is booked all the
	// same and held for the conversation (TakeReadHeldAhead): the caller
	// told to try again then takes it, where a poll waking for that slot
	// took it first, and the caller's every retry found the next one as
	// far. A slot further than heldReadAhead is neither booked nor held:
	// every conversation asked for holds one, and the poll's next free
	// slot comes after them all.
	lim := worker.ConversationReadLimit(page)
	start := time.Now()
	err := worker.AwaitRead(ctx, worker.ReadWait{
		Limit: lim,
		Take: func(ctx context.Context, retake bool) (time.Duration, error) {
			within := maxWait
			if retake {
				// The new slot is waited for only in what is left of
				// maxWait (nothing, often: the check came back late):
				// the request waits no longer than it may, and a slot
				// further is answered as one too far (held for the
				// conversation).
				within = maxWait - time.Since(start)
			}
			wait, err := l.TakeReadHeldAhead(ctx, page.ID, "reads:conversations", "api:"+conversationID, lim, within, lim.Interval/10,
				heldReadAhead(lim, maxWait))
			switch {
			case errors.As(err, new(*tasks.PausedError)):
				return 0, err
			case errors.Is(err, tasks.ErrReadLater):
				return 0, &ReadLaterError{Wait: wait}
			case err != nil:
				return 0, &RedisError{Err: err}
			}
			return wait, nil
		},
		Check: func(ctx context.Context) error {
			// The Page may have been paused during the wait: no read then.
			d, reason, err := l.Paused(ctx, page.ID)
			switch {
			case err != nil:
				return &RedisError{Err: err}
			case d > 0:
				return &tasks.PausedError{Page: page.ID, For: d, Reason: reason}
			}
			return nil
		},
	})
	if ended := (*worker.ReadWaitEnded)(nil); errors.As(err, &ended) {
		return &WaitEndedError{Err: ended.Err}
	}
	if err != nil {
		return err
	}
	err = ConversationReply(ctx, g, page, conversationID, now(), reply)
	var ge *graph.Error
	if errors.As(err, &ge) && worker.PausesPage(ge) {
		d := worker.PauseForError(l, m, page.ID, ge, log)
		if ce := (*ConversationError)(nil); errors.As(err, &ce) {
			ce.PausedFor, ce.Pause = d, worker.PauseKindOf(ge)
		}
	}
	return err
}

// heldReadAhead is how far ahead a request (or pagereply enqueue) may book
// and hold its conversation read slot: two of the schedule's intervals, at
// least maxWait (the request then waits for it). A slot further is booked
// by requests for other conversations already; the request is answered 503
// with the time to it, booking and holding nothing, so a burst of requests
// for distinct conversations (each holds its own slot) pushes the Page's
// poll back by two intervals at most, not by one interval each.
func heldReadAhead(lim tasks.Limit, maxWait time.Duration) time.Duration {
	return max(2*lim.Interval, maxWait)
}

// maxConversationReadWait is the longest a request waits for its Page's
// conversation read slot (worker.ConversationReadLimit) before it is
// answered 503, unless the Page's rate is slow (conversationReadWait).
const maxConversationReadWait = 2 * time.Second

// maxSlowConversationReadWait bounds conversationReadWait at a slow rate.
const maxSlowConversationReadWait = 10 * time.Second

// conversationReadWait is how long a request waits for page's conversation
// read slot: maxConversationReadWait, or two of the schedule's intervals at
// a slow rate (at most maxSlowConversationReadWait). A poll reading page
// after page of conversations books each slot only once it is due (see the
// worker's pollRun.takeRead), so the next free slot is at most one interval
// ahead of a request that comes while it reads; two cover a reply's check or
// another request booked before it. At a rate of 6/m or under one interval
// is past maxSlowConversationReadWait (the schedule paces 1% under the rate:
// 10.1 s at 6/m), and a request right after a read is answered 503 with the
// wait.
func conversationReadWait(page *config.Page) time.Duration {
	return max(maxConversationReadWait, min(2*worker.ConversationReadLimit(page).Interval, maxSlowConversationReadWait))
}

// unknownReason is the last_error of a reply in state "unknown".
const unknownReason = "an earlier attempt's outcome is unknown (its send may have reached the person); " +
	"the next attempt, queued by the next poll or full read that reads the target, asks Graph before it sends"

// staleHideReason is the last_error of a comment's reply stopped by the
// Page's hide on a Page whose skip_hidden is off now (tasks.StaleHideMark):
// the next enqueue or read of the comment drops the mark.
const staleHideReason = tasks.HiddenReason + " while the Page had skip_hidden, off since: " +
	"POST /v1/replies queues its reply, and so does the next read of the comment (a full read, a webhook item)"

// skippedReason is the last_error of a reply in state "skipped": its task
// completed on a mark the ledger no longer holds.
func skippedReason(t tasks.Target) string {
	if t.Kind == tasks.KindComment {
		return "not sent: the Page hid the comment (" + tasks.HiddenReason + ") and has shown it again since; " +
			"the read of it its unhide queued (or the next full read) queues its reply"
	}
	return "not sent: its task completed on a mark the ledger no longer holds"
}

// stateOf maps asynq's task states to the API's.
func stateOf(s asynq.TaskState) string {
	switch s {
	case asynq.TaskStateCompleted:
		return "sent"
	case asynq.TaskStateAggregating:
		return "pending"
	}
	return s.String()
}

// completedState is the API's state of a reply whose task asynq completed,
// from the ledger's entry of its target (status): sent only with the
// ledger's record, as a task completes without a send too, on a webhook's
// mark (GET /v1/replies/{id} and POST's 409 alike).
func completedState(status tasks.Status) string {
	switch status {
	case tasks.StatusSent:
		return "sent"
	case tasks.StatusFailed:
		return "archived"
	case tasks.StatusClaimed:
		return "active"
	case tasks.StatusUnknown:
		return "unknown"
	}
	return "skipped"
}

// ReplyStatus is the answer of GET /v1/replies/{id}.
type ReplyStatus struct {
	ID     string `json:"id"`
	PageID string `json:"page_id,omitempty"`
	// State is pending, scheduled, active, retry, sent, archived, skipped
	// (completed without a send, on a hide mark an unhide dropped since) or
	// unknown (completed, an earlier attempt's outcome unknown).
	State string `json:"state"`
	// Attempts is the number of send attempts begun.
	Attempts int `json:"attempts"`
	// LastError is the error of the last failed attempt, or why Graph refused
	// the reply for good.
	LastError string `json:"last_error,omitempty"`
	// ErrorClass is, for an archived reply, why in one fixed word a client
	// can act on (archivedClass, failedClass), and for one waiting for its
	// next attempt, the class of what holds it (heldClass); never text of
	// the answer.
	ErrorClass string `json:"error_class,omitempty"`
	// MessageID is Graph's message id once sent ("" when Graph only said the
	// target was already answered).
	MessageID string `json:"message_id,omitempty"`
	// SentAt is when the ledger recorded the reply as sent.
	SentAt *time.Time `json:"sent_at,omitempty"`
	// NextAttemptAt is when a scheduled or retrying reply is tried next.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
}

// getReply answers GET /v1/replies/{id}; ?page_id= narrows the ledger lookup
// when the task itself is gone (an hour after it finished). A page_id not
// configured is a 400 whether the task is there or not.
func (s *Server) getReply(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	t, err := tasks.ParseTarget(id)
	if err != nil {
		writeError(w, http.StatusBadRequest, "id must be a reply id such as comment:<id>, post:<id> or message:<id>", "id")
		return
	}
	id = t.String()
	if config.IDHoldsSecret(id, s.secrets) {
		// No reply has such an id (enqueue refuses it), and looked up it
		// would be logged with a Redis failure.
		writeError(w, http.StatusBadRequest, "id holds a secret of this server's configuration (an access token, the app secret, an API token, a password or the webhook verify token), not a reply id", "id")
		return
	}
	ctx := r.Context()
	hint := r.URL.Query().Get("page_id")
	if _, ok := s.pages[hint]; hint != "" && !ok {
		if !digits(hint) {
			// As POST's page_id: not echoed, it may be a token passed
			// in its place.
			writeError(w, http.StatusBadRequest, "page_id must be a numeric Page id", "page_id")
			return
		}
		if hint[0] == '0' {
			writeError(w, http.StatusBadRequest, msgPageIDZero, "page_id")
			return
		}
		writeError(w, http.StatusBadRequest, unknownPageID(), "page_id")
		return
	}
	var page string
	info, err := s.p.Inspector.GetTaskInfo(tasks.QueueReplies, id)
	switch {
	case err == nil:
		if rp, derr := tasks.DecodeReply(info.Payload); derr == nil {
			page = rp.PageID
		}
	case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
		info = nil
	default:
		s.redisFailed(ctx, s.log, "api: task info", err, slog.String("id", id))
		writeUnavailable(w, redisRetryAfter, "cannot read the reply's state now (Redis unavailable); try again")
		return
	}
	if hint != "" && page == "" {
		page = hint
	}
	candidates := []string{page}
	if page == "" {
		// The task is gone: look in every Page's ledger, in a few
		// pipelines (one round trip per Page was 5,000 for an agency).
		candidates = candidates[:0]
		for i := range s.p.Pages {
			candidates = append(candidates, s.p.Pages[i].ID)
		}
	}
	found, entry, err := s.p.Ledger.FindEntry(ctx, candidates, t)
	if err != nil {
		s.redisFailed(ctx, s.log, "api: ledger", err, slog.String("id", id))
		writeUnavailable(w, redisRetryAfter, "cannot read the reply's state now (Redis unavailable); try again")
		return
	}
	if entry.Status != tasks.StatusNone {
		page = found
	}
	if info == nil && entry.Status == tasks.StatusNone {
		writeError(w, http.StatusNotFound, "no reply "+id+" (unknown, or its record expired)", "id")
		return
	}
	st := ReplyStatus{ID: id, PageID: page}
	if info != nil {
		st.State = stateOf(info.State)
		st.Attempts = info.Retried
		switch info.State {
		case asynq.TaskStateActive, asynq.TaskStateCompleted, asynq.TaskStateArchived:
			st.Attempts++
		}
		st.LastError = info.LastErr
		if !info.NextProcessAt.IsZero() && (info.State == asynq.TaskStateScheduled || info.State == asynq.TaskStateRetry) {
			at := info.NextProcessAt.UTC()
			st.NextAttemptAt = &at
		}
	}
	switch entry.Status {
	case tasks.StatusSent:
		// The task's last error (a put-back, a retried failure) is history
		// once the reply is sent: shown beside "sent" it reads as a failure.
		st.State, st.MessageID, st.LastError = "sent", entry.MessageID, ""
		at := entry.At.UTC()
		st.SentAt = &at
		st.Attempts = max(st.Attempts, 1)
	case tasks.StatusFailed:
		st.State, st.LastError, st.ErrorClass = "archived", entry.Reason, failedClass(entry)
		if t.Kind == tasks.KindComment && tasks.StaleHideMark(s.pages[page], entry) {
			// The hide mark of a Page that had skip_hidden, off since:
			// not the Page's wish any more, and not final.
			st.LastError = staleHideReason
		}
		st.Attempts = max(st.Attempts, 1)
	case tasks.StatusClaimed:
		if info == nil || info.State == asynq.TaskStateCompleted {
			st.State = "active"
		}
	case tasks.StatusUnknown:
		if info == nil || info.State == asynq.TaskStateCompleted {
			// Neither known sent nor known not: the task completed on a
			// hide mark whose unhide left the doubt of the attempt whose
			// claim the mark had taken (or the task is gone). No task of
			// it runs: the next attempt, queued by a poll, asks Graph.
			st.State, st.LastError = "unknown", unknownReason
		}
	case tasks.StatusNone:
		if info != nil && info.State == asynq.TaskStateCompleted {
			// The task completed without a send on a mark that is gone
			// since: a hide mark the Page's unhide dropped (a removal's is
			// never dropped). asynq says completed; nothing went out.
			st.State, st.LastError = "skipped", skippedReason(t)
		}
	}
	switch {
	case st.State == "archived" && st.ErrorClass == "":
		st.ErrorClass = archivedClass(st.LastError)
	case st.State == "retry" || st.State == "scheduled":
		st.ErrorClass = heldClass(st.LastError)
	}
	writeJSON(w, http.StatusOK, st)
}
