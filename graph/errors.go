package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors, one per Class. A *Error matches the sentinel of its class
// with errors.Is, so errors.Is(err, graph.ErrAlreadyReplied) works on any error
// returned by a Client.
var (
	ErrThrottled      = errors.New("graph: throttled")
	ErrTransient      = errors.New("graph: transient error")
	ErrAlreadyReplied = errors.New("graph: already replied")
	ErrPermanent      = errors.New("graph: permanent error")
	ErrPageBroken     = errors.New("graph: page broken")
)

// Error is a failed Graph call: an error answer from Graph, an answer that could
// not be understood, or a transport failure. Every error a Client returns is a
// *Error. It never holds an access token or the app secret.
type Error struct {
	HTTPStatus  int    // 0 when no answer arrived
	Code        int    // Graph's error.code
	Subcode     int    // Graph's error.error_subcode
	Type        string // Graph's error.type, e.g. OAuthException
	Message     string // Graph's error.message, or what went wrong
	UserTitle   string // Graph's error.error_user_title
	UserMessage string // Graph's error.error_user_msg
	IsTransient bool   // Graph's error.is_transient
	FBTraceID   string // Graph's error.fbtrace_id

	// Class says how to treat the error (SPEC.md, "Graph errors").
	Class Class
	// Usage is what the answer's usage headers said.
	Usage Usage
	// RetryAfter is how long to wait before calling again for the Page: the
	// largest estimated_time_to_regain_access of the usage headers, or the
	// Retry-After header. 0 when neither was sent.
	RetryAfter time.Duration

	// Endpoint is the call that failed: feed, comments, object, conversations
	// or messages.
	Endpoint string
	// Unknown is true when a send may have reached Graph and its answer was lost
	// (a timeout or connection failure after the request was written, a 5xx, an
	// answer of any status whose body could not be read, a 2xx that could not be
	// decoded, or an answer Graph calls transient): Graph may have acted, so check
	// private_reply_conversation before sending again. Only sends (POST) set it.
	Unknown bool
	// Err is the underlying transport or decoding error, if any.
	Err error
}

// Error returns a one-line description, e.g.
// "graph: messages: (#10900) Activity already replied to [code 10900, class already_replied, fbtrace Abc]".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	} else if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if msg == "" {
		msg = "error"
	}
	b.WriteString(msg)
	b.WriteString(" [")
	if e.Code != 0 {
		b.WriteString("code ")
		b.WriteString(strconv.Itoa(e.Code))
		if e.Subcode != 0 {
			b.WriteString("/")
			b.WriteString(strconv.Itoa(e.Subcode))
		}
		b.WriteString(", ")
	}
	if e.HTTPStatus != 0 {
		b.WriteString("http ")
		b.WriteString(strconv.Itoa(e.HTTPStatus))
		b.WriteString(", ")
	}
	b.WriteString("class ")
	b.WriteString(e.Class.String())
	if e.Class == ClassPageBroken && PolicyBlocked(e) {
		// Classed page broken so that the Page's replies are kept, but a
		// new token does not lift it: the line an operator reads says so.
		b.WriteString(" (policy block)")
	}
	if e.RetryAfter > 0 {
		b.WriteString(", retry after ")
		b.WriteString(e.RetryAfter.String())
	}
	if e.Unknown {
		b.WriteString(", outcome unknown")
	}
	if e.FBTraceID != "" {
		b.WriteString(", fbtrace ")
		b.WriteString(e.FBTraceID)
	}
	b.WriteString("]")
	return b.String()
}

// Unwrap returns the underlying transport or decoding error, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel error of e's class.
func (e *Error) Is(target error) bool {
	return target != nil && target == sentinel(e.Class)
}

func sentinel(c Class) error {
	switch c {
	case ClassThrottled:
		return ErrThrottled
	case ClassTransient:
		return ErrTransient
	case ClassAlreadyReplied:
		return ErrAlreadyReplied
	case ClassPermanent:
		return ErrPermanent
	case ClassPageBroken:
		return ErrPageBroken
	}
	return nil
}

// codeTemporarySendFailure is the Send API's "Temporary send message failure.
// Please try again later.": transient, and on a send an outcome to check
// before sending again, like a 5xx.
const codeTemporarySendFailure = 1200

// perMessage holds the answers that come under a Page-level code (10, or
// 200–299) but concern one message or one person, not the Page (so do code
// 210 and, lacking their subcode, the messages of perPersonMessages): that one
// reply cannot be sent and the Page is fine, so they are permanent rather
// than page broken. Classed as page broken, one such reply would pause its
// Page, come back when the pause ends, fail the same way and pause it
// again, for as long as the task lives.
var perMessage = map[[2]int]bool{
	// Code 10, sent outside the allowed window (more than 24 hours after the
	// person's last message), under the subcodes Meta answers it with.
	{10, 2018278}: true,
	{10, 2018065}: true,
	{10, 2534022}: true,
	// Code 10: this person isn't receiving messages from the Page right now.
	{10, 2018108}: true,
	// Code 200: this person isn't available right now (551's subcode).
	{200, 1545041}: true,
	// Codes 10 and 200, subcode 2018028: "Cannot message users who are
	// not admins, developers or testers of the app until pages_messaging
	// permission is reviewed and the app is live". An app with Standard
	// Access messages the people with a role on it and is refused for
	// everyone else: the person's, not the Page's, whose other replies
	// go through.
	{10, subcodeAppNotLive}:  true,
	{200, subcodeAppNotLive}: true,
}

// subcodeAppNotLive is the refusal of a send to someone without a role on
// an app that is not live (perMessage).
const subcodeAppNotLive = 2018028

// appNotLiveText is that refusal's message, for an answer without its
// subcode (perPersonMessages).
const appNotLiveText = "not admins, developers or testers of the app"

// AppNotLiveReason reports whether reason, the text of an error a reply
// failed with (an *Error's Error(), as the ledger keeps it), is Meta's
// refusal of a send to someone without a role on an app that is not live
// (10 or 200, subcode 2018028, or its message): a refusal that the app
// going live lifts, where the other refusals about one person are for good.
func AppNotLiveReason(reason string) bool {
	return strings.Contains(reason, appNotLiveText) ||
		strings.Contains(reason, "code 10/"+strconv.Itoa(subcodeAppNotLive)+",") ||
		strings.Contains(reason, "code 200/"+strconv.Itoa(subcodeAppNotLive)+",")
}

// FailureAppNotLive is FailureClass's name of Meta's refusal of a send to
// someone without a role on an app that is not live (AppNotLive), and
// FailureOther its name of an error that is not Graph's.
const (
	FailureAppNotLive = "app_not_live"
	FailureOther      = "other"
)

// AppNotLive reports whether err is Meta's refusal of a send to someone
// without a role on an app that is not live: an *Error with code 10 or 200
// and subcode 2018028, or with that refusal's message (AppNotLiveReason's
// rules, read from the error's fields instead of its text).
func AppNotLive(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	return (ge.Code == 10 || ge.Code == 200) && ge.Subcode == subcodeAppNotLive ||
		strings.Contains(ge.Message, appNotLiveText)
}

// FailureClass names the class of err, the error a reply failed with for
// good, for the ledger to keep beside its reason (tasks.Entry.Class):
// FailureAppNotLive for the app-not-live refusal, which the app going live
// lifts, the *Error's Class name (permanent, page_broken, ...) for another
// Graph error, FailureOther for an error that is not Graph's. Only these
// fixed words, never text of the answer or of a request.
func FailureClass(err error) string {
	if AppNotLive(err) {
		return FailureAppNotLive
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Class.String()
	}
	return FailureOther
}

// AppNotLiveFailure reports whether a reply failed for good with class (as
// FailureClass named it) and reason (its error's text) failed because of
// the app-not-live refusal: the class decides; a failure recorded without a
// class (by a version that kept only the text) is read from its reason
// (AppNotLiveReason).
func AppNotLiveFailure(class, reason string) bool {
	if class != "" {
		return class == FailureAppNotLive
	}
	return AppNotLiveReason(reason)
}

// subcodeThreadControlled is code 10's "Message failed to send because
// another app is controlling this thread now": Messenger's handover protocol
// gave the person's thread to another app (a live-chat or helpdesk inbox).
// It is about one thread, not the Page, and the thread can come back (the
// other app passes it back, or Meta takes it back after the app's idle
// time): transient, a retry later with backoff, and a definite refusal (the
// reply was not sent), never the Page paused for one person's thread.
const subcodeThreadControlled = 2018300

// threadControlledText is that answer's message, for an answer without its
// subcode.
const threadControlledText = "another app is controlling this thread"

// threadControlled reports whether an error answer is the thread control
// refusal (subcodeThreadControlled).
func threadControlled(code, subcode int, message string) bool {
	return code == 10 && (subcode == subcodeThreadControlled || strings.Contains(message, threadControlledText))
}

// codeMessengerBlocked is 2022: "People have been reporting content that
// your Page is sending ... your Page has been blocked from sending messages
// via the Messenger Platform. This block may persist for 24 hours" (also
// "You have been temporarily blocked from performing this action"). It is
// missing from SPEC.md's list; like 368 it blocks the Page, not one reply:
// page broken, and the worker pauses the Page as for a policy block, its
// replies kept, instead of sending every queued reply into the block and
// archiving each.
const CodeMessengerBlocked = 2022

// codePolicyBlock is 368, "Temporarily blocked for policies violations".
const codePolicyBlock = 368

// subcodeMessagingRestricted is code 10's "temporarily restricted from
// sending messages" (Meta's Messenger Platform Common Error Codes,
// 10 – 1893063): a restriction Meta puts on the Page's messaging after a
// policy violation, not its token or permissions. Like 368 and 2022 it is
// a policy block: classed page broken (the Page's replies kept), and the
// worker pauses the Page for hours, not the 5 minutes of a broken token.
const subcodeMessagingRestricted = 1893063

// PolicyBlocked reports whether err is Meta blocking or restricting the
// Page's messaging for its conduct (code 368, code 2022, code 10 with
// subcode 1893063), not a broken token: a new token does not lift it, and
// calling into it lengthens it.
func PolicyBlocked(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	return ge.Code == codePolicyBlock || ge.Code == CodeMessengerBlocked ||
		ge.Code == 10 && ge.Subcode == subcodeMessagingRestricted
}

// codeUserNotVisible is 210, "User not visible": the person, not the Page.
// codePageMessagesOff is 10904, "The page has messages disabled in the
// settings" (Meta's Page Messages reference): the Page's state.
const (
	codeUserNotVisible  = 210
	codePageMessagesOff = 10904
)

// perPersonMessages are the texts of Meta's answers about one person or one
// message (perMessage) that have come under code 10 or 200 without their
// subcode: an answer with one of them is permanent, not page broken, so one
// unreachable person does not pause the Page.
var perPersonMessages = []string{
	"outside of allowed window",
	"isn't receiving messages",
	"isn't available right now",
	// Meta's current title of 10 – 2018108 (Messenger Platform Common
	// Error Codes), the same refusal in other words.
	"can't receive your messages",
	// 230 is a missing messaging permission of the Page's (page broken),
	// but Meta's Page Messages reference also gives it as "Permissions
	// disallow message to user": that one is the person's.
	"disallow message to user",
	// 2018028's (perMessage), which has also come under code 10 without
	// its subcode.
	appNotLiveText,
}

// perPersonMessage reports whether an answer under code 10, 200 or 230 says,
// in its message, that it is about one person or message (perPersonMessages).
func perPersonMessage(code int, message string) bool {
	if code != 10 && code != 200 && code != 230 {
		return false
	}
	// Meta writes some texts with a typographic apostrophe (isn’t).
	message = strings.ReplaceAll(message, "\u2019", "'")
	for _, m := range perPersonMessages {
		if strings.Contains(message, m) {
			return true
		}
	}
	return false
}

// Classify returns the class of a Graph error answer from its code, subcode,
// HTTP status and is_transient flag (SPEC.md, "Graph errors"). Codes decide
// first: 10900 is already replied; 4, 17, 32, 341, 613 and 80001–80014 are
// throttled; 10 with subcode 2018300 (another app controls the person's
// thread) is transient; 190, 102, 3, 10, 200–299, 368 and 2022 are page broken, except the
// answers about one message or one person under codes 10 and 200 (outside the
// messaging window, a person not reachable: perMessage), which are permanent.
// Then is_transient, codes 1, 2 and 1200 and HTTP 5xx are transient; HTTP 429 with
// no known code is throttled; everything else is permanent. Classify does not
// see usage headers: a Client also classes as throttled an otherwise transient
// or permanent answer whose usage headers say so. Nor does it see the message:
// a Client classes code 100 refusing the appsecret_proof as page broken
// (proofRefused), so is 100/33 naming the Page a call was made on
// (pageUnreachable) where it would be permanent (with HTTP 5xx or
// is_transient it stays transient), and codes 10 and 200 whose message is about one person as
// permanent (perPersonMessage).
func Classify(code, subcode, httpStatus int, transient bool) Class {
	switch {
	case code == 10900:
		return ClassAlreadyReplied
	// 341, "Application limit reached", is missing from SPEC.md's list; Meta's
	// error table says to wait and retry, so it is throttling, not a reason to
	// archive the reply.
	case code == 4, code == 17, code == 32, code == 341, code == 613, code >= 80001 && code <= 80014:
		return ClassThrottled
	// 210, "User not visible", is about one person, whatever its subcode.
	case perMessage[[2]int{code, subcode}], code == codeUserNotVisible:
		return ClassPermanent
	// 10904, "The page has messages disabled in the settings" (Meta's Page
	// Messages reference), is the Page's state, not the reply's: SPEC.md
	// lists it as permanent, which would archive every reply of the Page
	// as failed for good until someone turns messages back on. The Page is
	// paused instead, its replies kept.
	case code == codePageMessagesOff:
		return ClassPageBroken
	// 3, "API Method" (the app lacks a capability or permission), is missing
	// from SPEC.md's list too: it fails every call of the app, not one reply,
	// so the Page is paused with its replies kept instead of archiving each.
	case code == 10 && subcode == subcodeThreadControlled:
		return ClassTransient
	case code == 190, code == 102, code == 3, code == 10, code >= 200 && code <= 299, code == codePolicyBlock, code == CodeMessengerBlocked:
		return ClassPageBroken
	case transient, code == 1, code == 2, code == codeTemporarySendFailure, httpStatus >= 500:
		return ClassTransient
	case code == 0 && httpStatus == 429:
		return ClassThrottled
	}
	return ClassPermanent
}

// AppThrottled reports whether err says the whole app is throttled, not one
// Page: code 4 ("Application request limit reached"), code 341
// ("Application limit reached"), or X-App-Usage at the limit. Every Page the
// app serves must then stop calling.
func AppThrottled(err error) bool {
	var ge *Error
	if !errors.As(err, &ge) {
		return false
	}
	return ge.Code == 4 || ge.Code == 341 || ge.Usage.AppThrottled()
}

// ClassOf returns the class of any error: ClassNone for nil; the Class of a
// *Error in err's chain; the class of a sentinel (ErrThrottled, ...) in the
// chain; ClassTransient for context.DeadlineExceeded, context.Canceled (the
// call was cut short, not refused) and net.Error; ClassPermanent for anything
// else.
func ClassOf(err error) Class {
	if err == nil {
		return ClassNone
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Class
	}
	for _, c := range []Class{ClassAlreadyReplied, ClassThrottled, ClassPageBroken, ClassTransient, ClassPermanent} {
		if errors.Is(err, sentinel(c)) {
			return c
		}
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &ne) {
		return ClassTransient
	}
	return ClassPermanent
}

// AdsPermissionRefused reports whether err is Graph refusing an AdsPosts
// read for want of the ads permissions, the ADVERTISE task on the Page, or
// the app's access to the Marketing API: code 10 or 200–299 (294: "Managing
// advertisements requires the extended permission ads_management"), code 3
// ("Application does not have the capability to make this API call", which
// Meta's error guide calls a capability or permissions issue), 100 subcode 33
// ("Object with ID ... does not exist, cannot be loaded due to missing
// permissions", as Graph answers an object the token may not see, here the
// Page the feed was just read from), or 190 whose message is about a
// permission, on the ads_posts edge only. The token reads the Page's feed and
// answers its comments all the same: such a refusal concerns that one edge,
// not the Page (elsewhere these codes are page broken, or 100/33 the
// object's). A policy block under code 10 is not one.
func AdsPermissionRefused(err error) bool {
	ge := edgeError(err, EndpointAdsPosts)
	return ge != nil && (permissionCode(ge.Code) || ge.Code == 3 || ge.Code == 100 && ge.Subcode == 33 ||
		ge.Code == 190 && strings.Contains(strings.ToLower(ge.Message), "permission"))
}

// edgeError returns err's Graph error when it answers a read of endpoint and
// is neither a throttle nor a policy block (which concern the Page, not one
// edge); nil otherwise.
func edgeError(err error, endpoint string) *Error {
	var ge *Error
	if !errors.As(err, &ge) || ge.Endpoint != endpoint || ge.Class == ClassThrottled || PolicyBlocked(err) {
		return nil
	}
	return ge
}

// permissionCode reports Graph's codes for a permission the token lacks:
// 10 and 200–299.
func permissionCode(code int) bool { return code == 10 || code >= 200 && code <= 299 }

// ReelsRefused reports whether err is Graph refusing a Reels read (GET
// /{page-id}/video_reels), on that edge only: code 10 or 200–299 (a
// permission the token lacks), or code 100, as "Unsupported get request" and
// as the edge's reference says reading it is refused ("You can't perform
// this operation on this endpoint"). The token reads the Page's feed and
// answers its comments all the same: such a refusal concerns that one edge,
// not the Page (elsewhere codes 10 and 200–299 are page broken). A policy
// block under code 10 is not one, nor a throttle.
func ReelsRefused(err error) bool {
	ge := edgeError(err, EndpointReels)
	return ge != nil && (permissionCode(ge.Code) || ge.Code == 100)
}

// ObjectGone reports whether err is Graph's answer for an object that is not
// there: code 100, subcode 33 ("Unsupported get request. Object with ID ...
// does not exist, cannot be loaded due to missing permissions, or does not
// support this operation"), as a comment deleted since it was written.
func ObjectGone(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Code == 100 && ge.Subcode == 33
}

// NonexistingField reports whether err is Graph refusing a read because the
// object's type has no such field ("(#100) Tried accessing nonexisting field
// (name) on node type (...)"), as it answers for a field that one type of
// object has and another lacks.
func NonexistingField(err error, name string) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.Code == 100 && strings.Contains(ge.Message, "nonexisting field ("+name+")")
}

// proofRefused reports whether an error answer is Graph refusing the
// credentials' appsecret_proof: "Invalid appsecret_proof provided in the API
// argument" (graph.app_secret is not the app's secret) or "API calls from the
// server require an appsecret_proof argument" (the app requires one and no
// app_secret is configured). Graph sends both as a bare code 100
// (GraphMethodException, no subcode), the code of a bad argument, but neither
// is about one reply: every call of the Page fails alike until the
// configuration is fixed, so they pause the Page (page broken, its replies
// kept) instead of archiving each reply as permanent.
func proofRefused(code int, message string) bool {
	return code == 100 && strings.Contains(message, "appsecret_proof")
}

// ProofRefused reports whether err is Graph refusing the calls'
// appsecret_proof (proofRefused): page broken as a refused token is, but
// graph.app_secret, not the Page's token, is what to fix.
func ProofRefused(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && proofRefused(ge.Code, ge.Message)
}

// pageUnreachable reports whether e is Graph's 100/33 ("Unsupported post
// request. Object with ID '<id>' does not exist, cannot be loaded due to
// missing permissions, or does not support this operation") naming page, the
// Page a call was made on (a send in its name, its feed, its conversations):
// the Page cannot be reached with its token (unpublished or restricted by
// Meta, a wrong id, a permission missing), which every call on the Page gets
// alike, not one reply. Classed permanent, each queued reply would be
// archived for good as it came; the Page is paused instead, its replies kept.
// The same answer naming another object (the comment replied to, a post
// whose comments are read) is that object's.
func pageUnreachable(e *Error, page string) bool {
	return page != "" && e.Code == 100 && e.Subcode == 33 && strings.Contains(e.Message, "ID '"+page+"'")
}

// graphRefusedToken reports whether h holds Graph's own WWW-Authenticate
// refusal of the access token, OAuth "Facebook Platform" "invalid_token" (or
// "insufficient_scope", a permission the token lacks), as Graph sends with
// code 190 and 200-range answers. Only the "Facebook Platform" realm counts:
// a proxy's 401 says nothing about the token and stays transient.
func graphRefusedToken(h http.Header) bool {
	for _, v := range h.Values("WWW-Authenticate") {
		l := strings.ToLower(v)
		if strings.Contains(l, `"facebook platform"`) &&
			(strings.Contains(l, `"invalid_token"`) || strings.Contains(l, `"insufficient_scope"`)) {
			return true
		}
	}
	return false
}

// wireError is Graph's {"error":{...}} body.
type wireError struct {
	Error *struct {
		Message     string   `json:"message"`
		Type        string   `json:"type"`
		Code        flexInt  `json:"code"`
		Subcode     flexInt  `json:"error_subcode"`
		UserTitle   string   `json:"error_user_title"`
		UserMessage string   `json:"error_user_msg"`
		IsTransient flexBool `json:"is_transient"`
		FBTraceID   string   `json:"fbtrace_id"`
	} `json:"error"`
}

// decodeError builds the *Error for an answer with the given HTTP status and
// body: Graph's {"error":{...}} when the body holds one, else a description
// of the unexpected answer, transient (throttled for a 429). It never returns nil and never
// panics; Usage, RetryAfter, Endpoint and Unknown are left to the caller.
func decodeError(status int, contentType string, body []byte) *Error {
	return decodeErrorRedacted(status, contentType, body, nil)
}

// decodeErrorRedacted is decodeError with redact (when not nil) applied to
// each decoded string before it is clipped: a secret written with JSON
// escapes (\u0045AA...) matches no bytes of the body and appears only once
// decoded, and a clip that cut it first would leave its head.
func decodeErrorRedacted(status int, contentType string, body []byte, redact func(string) string) *Error {
	str := func(s string) string {
		if redact != nil {
			s = redact(s)
		}
		return clip(s)
	}
	var w wireError
	if err := json.Unmarshal(body, &w); err == nil && w.Error != nil {
		ge := w.Error
		e := &Error{
			HTTPStatus:  status,
			Code:        int(ge.Code),
			Subcode:     int(ge.Subcode),
			Type:        str(ge.Type),
			Message:     str(ge.Message),
			UserTitle:   str(ge.UserTitle),
			UserMessage: str(ge.UserMessage),
			IsTransient: bool(ge.IsTransient),
			FBTraceID:   str(ge.FBTraceID),
		}
		if e.Message == "" {
			e.Message = "error without a message"
		}
		e.Class = Classify(e.Code, e.Subcode, status, e.IsTransient)
		switch {
		case proofRefused(e.Code, ge.Message):
			e.Class = ClassPageBroken
		case e.Class == ClassPageBroken && threadControlled(e.Code, e.Subcode, ge.Message):
			e.Class = ClassTransient
		case e.Class == ClassPageBroken && perPersonMessage(e.Code, ge.Message):
			e.Class = ClassPermanent
		}
		return e
	}
	kind := "a non-JSON"
	if json.Valid(body) {
		kind = "an unexpected JSON"
	} else if len(body) == 0 {
		kind = "an empty"
	}
	mt := ""
	if contentType != "" {
		if t, _, err := mime.ParseMediaType(contentType); err == nil {
			mt = ", " + clip(t)
		}
	}
	e := &Error{
		HTTPStatus: status,
		Message:    fmt.Sprintf("HTTP %d with %s body (%d bytes%s)", status, kind, len(body), mt),
		Class:      Classify(0, 0, status, false),
	}
	if e.Class == ClassPermanent {
		// An answer that says neither success nor a Graph error: Graph's own
		// errors always come in its JSON envelope, so this is a proxy, a
		// load balancer or a wrong base_url talking (a 403 page, a 407, a
		// 404 of another server), or a cut connection. It says nothing
		// about the reply: archiving it for good would lose every reply
		// while the path to Graph is broken. Another try, after backoff
		// (and, on a send, after checking whether it landed).
		e.Class = ClassTransient
	}
	return e
}

// maxQuoted is the longest value of an answer a decode error quotes.
const maxQuoted = 64

// quoted is how a decode error shows a value of Graph's answer it cannot
// read (raw, as JSON): as it is when it is short and holds no escape, else
// by its JSON kind and length only. A secret in a value shown is then whole
// and as its own bytes, where the redaction finds it (Client.redact):
// written with JSON escapes (\u0045AA...) it matches no redaction and is
// read as easily, and cut by a clip it leaves its head.
func quoted(raw []byte) string {
	if len(raw) > 0 && len(raw) <= maxQuoted && !bytes.ContainsRune(raw, '\\') && utf8.Valid(raw) {
		return string(raw)
	}
	kind := "value"
	if len(raw) > 0 {
		switch raw[0] {
		case '"':
			kind = "string"
		case '{':
			kind = "object"
		case '[':
			kind = "array"
		}
	}
	return fmt.Sprintf("a JSON %s of %d bytes", kind, len(raw))
}

// clip keeps strings taken from an answer to a sane length for logs.
func clip(s string) string {
	const max = 1000
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "…"
	}
	return s
}

// flexInt decodes a JSON number or a numeric string; anything else is 0.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	f, ok := parseNumber(b)
	if !ok || f < -1e15 || f > 1e15 {
		*n = 0
		return nil
	}
	*n = flexInt(f)
	return nil
}

// flexBool decodes true, false or "true"/"false"; anything else is false.
type flexBool bool

func (v *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	*v = s == "true" || s == "1"
	return nil
}

// parseNumber reads a JSON number or a string holding one.
func parseNumber(b []byte) (float64, bool) {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != f { // NaN
		return 0, false
	}
	return f, true
}
