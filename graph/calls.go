package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Comment reads one comment (with is_hidden through WithHidden).
// CallInfo.PageID is set only through WithPageID.
func (c *Client) Comment(ctx context.Context, token, commentID string) (Comment, error) {
	var v Comment
	err := c.getObject(ctx, token, pageFor(ctx, ""), commentID, commentFieldsFor(ctx), &v)
	return v, err
}

// Post reads one post, with the fields of Feed.
func (c *Client) Post(ctx context.Context, token, postID string) (Post, error) {
	var v Post
	err := c.getObject(ctx, token, pageFor(ctx, pageOfPost(postID)), postID, postFields, &v)
	return v, err
}

// PrivateReplyConversation returns the id of the conversation a private reply
// to the comment or post targetID started, or "" when none was sent. It is how
// a send whose outcome is unknown gets settled before sending again.
// CallInfo.PageID is set only through WithPageID.
//
// An answer it cannot read, private_reply_conversation included, is a
// transient error (a malformed answer, as for any other read): the check is
// made again, and the reply is neither sent again nor given up on.
func (c *Client) PrivateReplyConversation(ctx context.Context, token, targetID string) (string, error) {
	var v struct {
		PRC conversationRef `json:"private_reply_conversation"`
	}
	if err := c.getObject(ctx, token, pageFor(ctx, ""), targetID, "private_reply_conversation", &v); err != nil {
		return "", err
	}
	return v.PRC.id, nil
}

// conversationRef is private_reply_conversation, read by
// decodeConversationRef while the answer is decoded, so that a value it
// cannot read makes the answer malformed.
type conversationRef struct{ id string }

func (r *conversationRef) UnmarshalJSON(b []byte) error {
	id, err := decodeConversationRef(b)
	r.id = id
	return err
}

// decodeConversationRef reads private_reply_conversation: absent or null when
// no reply was sent, else {"id":"t_..."} (or, leniently, the id as a string).
func decodeConversationRef(b json.RawMessage) (string, error) {
	if len(b) == 0 || string(b) == "null" {
		return "", nil
	}
	var ref struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &ref); err == nil {
		if ref.ID == "" {
			return "", errors.New("private_reply_conversation without an id")
		}
		return ref.ID, nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", errors.New("private_reply_conversation is neither an object nor a string")
	}
	return s, nil
}

// getObject reads GET /{version}/{id}?fields=... into v.
func (c *Client) getObject(ctx context.Context, token, pageID, id, fields string, v any) error {
	if id == "" {
		return c.invalid(EndpointObject, "empty id")
	}
	u := ""
	if c.base != nil {
		u = c.objectURL(id, "", url.Values{"fields": {fields}})
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, endpoint: EndpointObject, pageID: pageID, url: u, token: token})
	if err != nil {
		return err
	}
	err = decodeObject(resp.body, v)
	c.observed(resp, err != nil)
	if err != nil {
		// A decoder may quote, clipped, the value it cannot read: the error
		// is taken from the redacted answer when the answer holds a token.
		err, _ = c.redactedDecodeErrors(resp.body, token, err, nil, func(b []byte) (error, error) {
			return decodeObject(b, v), nil
		})
		return c.malformed(EndpointObject, resp, err, token, false)
	}
	return nil
}

// decodeObject decodes a JSON object answer into v (a pointer to a struct).
func decodeObject(body []byte, v any) error {
	if len(body) == 0 || body[0] != '{' {
		if err := json.Unmarshal(body, new(json.RawMessage)); err != nil {
			return err
		}
		return errors.New("answer is not a JSON object")
	}
	return json.Unmarshal(body, v)
}

// SendPrivateReply sends text as a private reply to the comment or visitor
// post named by to (exactly one of CommentID and PostID), through
// POST /{page-id}/messages. Code 10900 (ErrAlreadyReplied) means the reply
// already exists. When the answer is lost, the error's Unknown is true.
func (c *Client) SendPrivateReply(ctx context.Context, token, pageID string, to Recipient, text string) (SendResult, error) {
	switch {
	case to.PSID != "" || (to.CommentID != "") == (to.PostID != ""):
		return SendResult{}, c.invalid(EndpointMessages, "a private reply needs exactly one of comment id and post id")
	case to.CommentID != "":
		return c.sendMessage(ctx, token, pageID, recipientComment, to.CommentID, "", text)
	default:
		return c.sendMessage(ctx, token, pageID, recipientPost, to.PostID, "", text)
	}
}

// SendMessage sends text to the person psid in the Page's conversation with
// them (messaging_type RESPONSE, so only within 24 hours of their last
// message). When the answer is lost, the error's Unknown is true.
func (c *Client) SendMessage(ctx context.Context, token, pageID, psid, text string) (SendResult, error) {
	if psid == "" {
		return SendResult{}, c.invalid(EndpointMessages, "empty recipient id")
	}
	return c.sendMessage(ctx, token, pageID, recipientID, psid, "RESPONSE", text)
}

// The key of the recipient object of a send.
const (
	recipientComment = "comment_id"
	recipientPost    = "post_id"
	recipientID      = "id"
)

// sendBody is the form body of a send without credentials:
// recipient={"<key>":"<id>"}&message={"text":"<text>"}[&messaging_type=...].
func sendBody(rcptKey, rcptID, messagingType, text string) []byte {
	var js [256]byte
	j := append(js[:0], '{')
	j = appendJSONString(j, rcptKey)
	j = append(j, ':')
	j = appendJSONString(j, rcptID)
	j = append(j, '}')
	// Room for the escaped values and the credentials send appends.
	b := make([]byte, 0, 3*len(j)+3*len(text)+200)
	b = appendFormField(b, "recipient", string(j))
	j = append(j[:0], `{"text":`...)
	j = appendJSONString(j, text)
	j = append(j, '}')
	b = appendFormField(b, "message", string(j))
	if messagingType != "" {
		b = appendFormField(b, "messaging_type", messagingType)
	}
	return b
}

func (c *Client) sendMessage(ctx context.Context, token, pageID, rcptKey, rcptID, messagingType, text string) (SendResult, error) {
	if pageID == "" {
		return SendResult{}, c.invalid(EndpointMessages, "empty page id")
	}
	if text == "" {
		return SendResult{}, c.invalid(EndpointMessages, "empty message text")
	}
	u := ""
	if c.base != nil {
		u = c.objectURL(pageID, "messages", nil)
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, endpoint: EndpointMessages, pageID: pageFor(ctx, pageID), url: u,
		body: sendBody(rcptKey, rcptID, messagingType, text), token: token, page: pageID})
	if err != nil {
		return SendResult{}, err
	}
	res, err := decodeSendResult(resp.body)
	c.observed(resp, err != nil)
	if err != nil {
		// Graph answered 2xx, so it may well have sent the message.
		return SendResult{}, c.malformed(EndpointMessages, resp, err, token, true)
	}
	return res, nil
}

// decodeSendResult decodes the answer to a send, which must name the message.
func decodeSendResult(body []byte) (SendResult, error) {
	if r, ok := scanSendResult(body); ok {
		return r, nil
	}
	var w struct {
		RecipientID wireID `json:"recipient_id"`
		MessageID   string `json:"message_id"`
	}
	if err := decodeObject(body, &w); err != nil {
		return SendResult{}, err
	}
	if w.MessageID == "" {
		return SendResult{}, errors.New("answer has no message_id")
	}
	return SendResult{RecipientID: string(w.RecipientID), MessageID: w.MessageID}, nil
}

// wireID is an id of Graph's answer: a JSON string, or an integer written as
// a JSON number (as Graph writes recipient_id in some payloads; an answer
// naming the message went through, whatever type its recipient's id came
// in). null is "". Anything else is an error.
type wireID string

func (id *wireID) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = wireID(s)
		return nil
	}
	for i, c := range b {
		if (c < '0' || c > '9') && !(i == 0 && c == '-' && len(b) > 1) {
			return fmt.Errorf("id %s is neither a string nor an integer", quoted(b))
		}
	}
	*id = wireID(b)
	return nil
}

// scanSendResult reads the answer to a send in the exact shape Graph gives
// it, {"recipient_id":"…","message_id":"…"} (either order, no whitespace,
// printable ASCII strings without escapes, a non-empty message id), without
// encoding/json's reflection. Anything else is not ok, and goes to
// encoding/json (FuzzScanSendResult holds the two equal).
func scanSendResult(b []byte) (SendResult, bool) {
	var r SendResult
	var seenR, seenM bool
	if len(b) < 2 || b[0] != '{' {
		return r, false
	}
	i := 1
	for {
		key, n, ok := scanPlainString(b[i:])
		if !ok || i+n >= len(b) || b[i+n] != ':' {
			return r, false
		}
		i += n + 1
		val, n, ok := scanPlainString(b[i:])
		if !ok {
			return r, false
		}
		i += n
		switch {
		case string(key) == "recipient_id" && !seenR:
			r.RecipientID, seenR = string(val), true
		case string(key) == "message_id" && !seenM:
			r.MessageID, seenM = string(val), true
		default:
			return r, false
		}
		if i >= len(b) {
			return r, false
		}
		if b[i] == '}' {
			return r, i == len(b)-1 && r.MessageID != ""
		}
		if b[i] != ',' {
			return r, false
		}
		i++
	}
}

// scanPlainString reads a JSON string of printable ASCII without escapes at
// the start of b and returns its contents and the bytes it took.
func scanPlainString(b []byte) ([]byte, int, bool) {
	if len(b) < 2 || b[0] != '"' {
		return nil, 0, false
	}
	for j := 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[1:j], j + 1, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// invalid is the error for a call that cannot be made as asked.
func (c *Client) invalid(endpoint, msg string) *Error {
	return &Error{Endpoint: endpoint, Message: msg, Class: ClassPermanent}
}

// malformed is the error for a 2xx answer that could not be decoded. It is
// transient (proxies and cut connections produce those), throttled when the
// answer's usage headers say so, and on a send its outcome is unknown.
func (c *Client) malformed(endpoint string, resp *response, err error, token string, send bool) *Error {
	e := throttledByUsage(&Error{
		HTTPStatus: resp.status,
		Message:    "malformed answer",
		Err:        err,
		Class:      ClassTransient,
		Usage:      resp.usage,
		RetryAfter: resp.usage.RegainAccess,
		Endpoint:   endpoint,
		Unknown:    send,
	})
	c.redact(e, token)
	return e
}
