// Package graph is pagereply's client for the Facebook Graph API: typed calls for
// feeds, comments, conversations and private replies, paging iterators, the error
// classes of SPEC.md, usage headers and appsecret_proof. It imports nothing of
// pagereply's own.
package graph

import (
	"time"
)

// DefaultVersion is the Graph API version used when Config.Version is empty.
const DefaultVersion = "v25.0"

// DefaultBaseURL is Meta's Graph API host, used when Config.BaseURL is empty.
const DefaultBaseURL = "https://graph.facebook.com"

// TimeLayout is the layout Graph uses for created_time and updated_time.
const TimeLayout = "2006-01-02T15:04:05-0700"

// Time is a time.Time that decodes from Graph's "2006-01-02T15:04:05-0700" strings
// (and, leniently, RFC 3339 or Unix seconds).
type Time struct{ time.Time }

// User is a person or Page as Graph names it in from and participants.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Ref is an object reference such as a comment's parent.
type Ref struct {
	ID string `json:"id"`
}

// Post is one item of a Page feed.
type Post struct {
	ID                string `json:"id"`
	CreatedTime       Time   `json:"created_time"`
	UpdatedTime       Time   `json:"updated_time"`
	CanReplyPrivately bool   `json:"can_reply_privately"`
	From              *User  `json:"from,omitempty"`
	Message           string `json:"message,omitempty"`
}

// Comment is a comment on a post, top-level or a reply (Parent set).
type Comment struct {
	ID                string `json:"id"`
	CreatedTime       Time   `json:"created_time"`
	CanReplyPrivately bool   `json:"can_reply_privately"`
	From              *User  `json:"from,omitempty"`
	Message           string `json:"message,omitempty"`
	Parent            *Ref   `json:"parent,omitempty"`
	// IsHidden is Graph's is_hidden: the Page hid the comment. Read only
	// through WithHidden; false otherwise.
	IsHidden bool `json:"is_hidden,omitempty"`
	// ListOrder is not Graph's: Client.Comments sets it to the order the
	// listing came in, as its summary says (OrderReverseChronological,
	// OrderChronological or OrderRanked; "" when the answer had no summary).
	ListOrder string `json:"-"`
}

// Message is one message of a conversation.
type Message struct {
	ID          string `json:"id"`
	Message     string `json:"message,omitempty"`
	From        *User  `json:"from,omitempty"`
	CreatedTime Time   `json:"created_time"`
}

// Conversation is a Page's Messenger thread with one person. Messages holds the
// first page of its messages, newest first, as Graph returns them.
type Conversation struct {
	ID           string    `json:"id"`
	UpdatedTime  Time      `json:"updated_time"`
	Participants []User    `json:"participants"`
	Messages     []Message `json:"messages"`
}

// Recipient names whom a message goes to: exactly one of CommentID or PostID for
// a private reply, PSID for a reply in a conversation.
type Recipient struct {
	CommentID string
	PostID    string
	PSID      string
}

// SendResult is Graph's answer to a successful send.
type SendResult struct {
	RecipientID string `json:"recipient_id"`
	MessageID   string `json:"message_id"`
}

// Class says how the worker treats a Graph error (SPEC.md, "Graph errors").
type Class int

const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	// ClassThrottled: stop calling for the Page until access is regained; no retry used up.
	ClassThrottled
	// ClassTransient: retry with backoff; a send's outcome may be unknown.
	ClassTransient
	// ClassAlreadyReplied: the reply exists (10900); record it as sent.
	ClassAlreadyReplied
	// ClassPermanent: archive with the reason, no retry.
	ClassPermanent
	// ClassPageBroken: pause the Page (token, permissions, policy block), keep its tasks.
	ClassPageBroken
)

// String returns the class's lower-case name as used in logs and metrics.
func (c Class) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassThrottled:
		return "throttled"
	case ClassTransient:
		return "transient"
	case ClassAlreadyReplied:
		return "already_replied"
	case ClassPermanent:
		return "permanent"
	case ClassPageBroken:
		return "page_broken"
	}
	return "unknown"
}

// Usage is what the throttling headers (X-App-Usage, X-Page-Usage,
// X-Business-Use-Case-Usage) said about a response.
type Usage struct {
	// MaxPercent is the highest of call_count, total_cputime and total_time across
	// all usage headers, 0 when none was sent.
	MaxPercent int
	// RegainAccess is the largest estimated_time_to_regain_access (minutes in the
	// header), 0 when none was given.
	RegainAccess time.Duration
	// AppPercent is the highest figure of X-App-Usage alone: the app's own
	// usage, across every Page and token it calls with.
	AppPercent int
}

// Throttled reports whether the usage says to stop calling: a figure at or above
// 95 percent or a time to regain access.
func (u Usage) Throttled() bool { return u.MaxPercent >= 95 || u.RegainAccess > 0 }

// AppThrottled reports whether the app's own usage (X-App-Usage) is at the
// limit: then every Page the app serves must stop calling, not only the one
// whose answer said so.
func (u Usage) AppThrottled() bool { return u.AppPercent >= 95 }

// CallInfo describes one finished Graph call, for metrics and throttle detection.
// It never holds a token.
type CallInfo struct {
	Endpoint   string // feed, ads_posts, video_reels, comments, object, messages, conversations
	PageID     string // when the call is on behalf of a known Page
	HTTPStatus int    // 0 when no answer arrived
	Code       int    // Graph error code, 0 on success
	// Failed says the call ended in an error: with Code 0, an answer not in
	// Graph's error shape (a proxy's HTML page, an empty or unreadable body)
	// or no answer at all.
	Failed   bool
	Duration time.Duration
	Usage    Usage
}
