// Package tasks owns pagereply's task types and payloads, reply targets and
// their TaskIDs, the reply ledger in Redis, and the one enqueue call that every
// producer (poll, webhook, API) goes through.
package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Task types.
const (
	// TypeReply sends one private reply.
	TypeReply = "pagereply:reply"
	// TypePoll polls one Page's feed and enqueues reply tasks.
	TypePoll = "pagereply:poll"
)

// PollTimeout is how long a poll task may run. A poll's reads are paced at its
// Page's rate, so a full read of a busy Page at a low rate can take hours;
// under asynq's default of 30 minutes it was cut at the same place every time
// and never finished. A poll makes progress or fails (every read is bounded
// by graph.timeout), and its lease keeps a Page to one poll at a time.
const PollTimeout = 24 * time.Hour

// Queues. Polls get their own queue so a long reply backlog never delays them.
const (
	QueueReplies = "replies"
	QueuePolls   = "polls"
)

// Kind is what a reply answers.
type Kind string

// Target kinds.
const (
	KindComment Kind = "comment" // a comment on a post: private reply
	KindPost    Kind = "post"    // a visitor's post on the Page: private reply
	KindMessage Kind = "message" // a person's message in a conversation: Send API reply
)

// Target identifies a reply: one target, one reply, ever. Its string form
// (comment:<id>, post:<id>, message:<id>) is the reply task's TaskID and the
// ledger's key.
type Target struct {
	Kind Kind
	ID   string
}

// String returns "kind:id".
func (t Target) String() string { return string(t.Kind) + ":" + t.ID }

// ErrBadTarget is returned for a target that is not kind:id with a known kind.
var ErrBadTarget = errors.New("tasks: bad target")

// ParseTarget parses "kind:id".
func ParseTarget(s string) (Target, error) {
	k, id, ok := strings.Cut(s, ":")
	if !ok || id == "" || !validID(id) {
		return Target{}, fmt.Errorf("%w %q", ErrBadTarget, s)
	}
	switch Kind(k) {
	case KindComment, KindPost, KindMessage:
		return Target{Kind: Kind(k), ID: id}, nil
	}
	return Target{}, fmt.Errorf("%w %q: unknown kind", ErrBadTarget, s)
}

// IDChars says which ids ParseTarget takes, for the message that refuses
// one (a URL or a name pasted for an id).
const IDChars = "a Graph id holds only letters, digits and _ - . : = + $, at most 256 bytes"

// validID accepts Graph ids: letters, digits, '_', '-', '.', ':', '=', '+' and '$'
// (message ids are base64-like, and Messenger's older ones read
// "mid.$cAAJsujCd2ORmA4RK5lhvVcTzD2cU"), at most 256 bytes. A '$' means
// nothing in a Redis key, a Lua script's keys, an asynq TaskID or a URL path,
// where ids go.
func validID(id string) bool {
	if len(id) == 0 || len(id) > 256 {
		return false
	}
	for _, r := range id {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r == '_' || r == '-' || r == '.' || r == ':' || r == '=' || r == '+' || r == '$':
		default:
			return false
		}
	}
	return true
}

// ErrBadShape is CheckShape's error: an id no Graph id of its kind has the
// shape of.
var ErrBadShape = errors.New("not shaped as Graph writes the id")

// CheckShape refuses a comment or post id that a caller (the API, pagereply
// enqueue) gives in a shape no Graph id of that kind has, before it is
// queued: Graph would refuse it at the send, and the reply end archived. Meta
// writes ids of numbers joined by underscores, none of them empty:
//
//   - a comment <post-id>_<comment-id> (the feed webhook's comment_id, GET
//     /{post-id}/comments), also Meta's older <page-id>_<post-id>_<comment-id>,
//     which its comment reference calls deprecated, not refused, and a bare
//     <comment-id>, which Graph reads too: at most three parts;
//   - a post <page-id>_<post-id> (the feed, the webhook's post_id), or a
//     bare id (a Reel's video id): at most two parts.
//
// Only the parts are counted: their characters are validID's (Graph once
// returned comment ids spelt with colons, "<a>:<b>:63_<c>"), and a post id's
// first part is not compared with the Page's id (Meta does not say a
// visitor's post on the Page always begins with it). Conversation and
// message ids are not looked at: a conversation's (t_..., or another
// platform's) is read from Graph before anything is queued. The error names
// the shape, never the value: the value may be anything a caller sent, a
// secret too.
func CheckShape(kind Kind, id string) error {
	var most int
	var shape string
	switch kind {
	case KindComment:
		most, shape = 3, "a comment id reads <post-id>_<comment-id> (or Graph's older <page-id>_<post-id>_<comment-id>)"
	case KindPost:
		most, shape = 2, "a post id reads <page-id>_<post-id>"
	default:
		return nil
	}
	parts := strings.Count(id, "_") + 1
	if id == "" || id[0] == '_' || id[len(id)-1] == '_' || strings.Contains(id, "__") {
		return fmt.Errorf("%w: a part between underscores is empty; %s", ErrBadShape, shape)
	}
	if parts > most {
		return fmt.Errorf("%w: %d parts between underscores where Graph writes at most %d; %s", ErrBadShape, parts, most, shape)
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler.
func (t Target) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Target) UnmarshalText(b []byte) error {
	v, err := ParseTarget(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Source says which producer made a reply task.
type Source string

// Sources.
const (
	SourcePoll    Source = "poll"
	SourceWebhook Source = "webhook"
	SourceAPI     Source = "api"
)

// Reply is the payload of a reply task. It never carries a token: the worker
// looks the token up by PageID.
type Reply struct {
	PageID string `json:"page_id"`
	Target Target `json:"target"`
	// PSID is the person to message, for KindMessage targets.
	PSID string `json:"psid,omitempty"`
	// ConversationID is the conversation of a KindMessage target.
	ConversationID string `json:"conversation_id,omitempty"`
	Text           string `json:"text"`
	Source         Source `json:"source"`
	// EnqueuedAt is when the first producer enqueued it, in Unix milliseconds.
	EnqueuedAt int64 `json:"enqueued_at"`
	// Created is when the person wrote what the reply answers (the comment,
	// the post, the message), in Unix milliseconds, as Graph gave it; 0 when
	// unknown (an API reply to a comment or post). The worker refuses to send
	// a reply older than its Page's reply window, however long it waited in
	// the queue, and a conversation reply to a person whom a reply already
	// reached after they wrote it.
	Created int64 `json:"created,omitempty"`
	// Person is the id of who wrote the comment or post, as the poll and
	// the webhook know it (the API's replies carry none). The worker spaces
	// a Page's replies to one person by the Page's person_gap, and on a Page
	// that sends one reply per person (config.Page.OneReplyPerPerson) sends
	// them one. Tasks queued by versions before the gap carry it only on
	// such a Page.
	Person string `json:"person,omitempty"`
}

// MaxTextLen is Messenger's limit on a reply's text, in characters.
const MaxTextLen = 2000

// Validate checks a reply before it is enqueued or sent.
func (r *Reply) Validate() error {
	switch {
	case r.PageID == "" || !isDigits(r.PageID):
		return errors.New("page_id: must be a numeric Page id")
	case r.Target.ID == "" || !validID(r.Target.ID):
		return errors.New("target: missing or malformed id")
	case r.Target.Kind == KindMessage && r.PSID == "":
		return errors.New("psid: required for a conversation reply")
	case strings.TrimSpace(r.Text) == "":
		return errors.New("text: must not be empty")
	case utf8.RuneCountInString(r.Text) > MaxTextLen:
		return fmt.Errorf("text: longer than %d characters", MaxTextLen)
	}
	switch r.Target.Kind {
	case KindComment, KindPost, KindMessage:
	default:
		return errors.New("target: unknown kind")
	}
	return nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// DecodeReply decodes and validates a reply task payload.
func DecodeReply(b []byte) (Reply, error) {
	r, ok := scanReply(b)
	if !ok {
		r = Reply{}
		if err := json.Unmarshal(b, &r); err != nil {
			return Reply{}, fmt.Errorf("decode reply payload: %w", err)
		}
	}
	if err := r.Validate(); err != nil {
		return Reply{}, fmt.Errorf("decode reply payload: %w", err)
	}
	return r, nil
}

// Poll is the payload of a poll task.
type Poll struct {
	PageID string `json:"page_id"`
	// Slot is the scheduled time of the poll, Unix seconds; 0 for a poll on demand.
	Slot int64 `json:"slot"`
}

// PollTaskID is the TaskID of the poll of page in the slot starting at slot, so
// any number of schedulers enqueue it once.
func PollTaskID(page string, slot time.Time) string {
	return fmt.Sprintf("poll:%s:%d", page, slot.Unix())
}

// StartPollTaskID is the TaskID of the poll at start of page whose own slot
// comes next at next: every scheduler that starts before that slot (replicas
// starting in different seconds, each process of a rolling restart) names it
// alike, so the Page gets one poll at start between two of its slots however
// many schedulers start there.
func StartPollTaskID(page string, next time.Time) string {
	return fmt.Sprintf("poll:%s:start:%d", page, next.Unix())
}
