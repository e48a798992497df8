package sandbox

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// sent is the outcome of a successful send, handed from under the lock to the
// writer.
type sent struct {
	body []byte
	rec  int // index in the recorder
}

// send serves POST /{page-id}/messages: a private reply to a comment or a
// visitor's post, or a reply in a conversation.
func (c *call) send() {
	s := c.s
	s.mu.Lock()
	pageID, out, e := c.sendLocked(&s.st)
	s.mu.Unlock()
	if e == nil && s.fl.drop() {
		s.rec.markDropped(out.rec)
		dropAnswer(c.w)
		return
	}
	c.finish(pageID, out.body, e)
}

type recipient struct {
	CommentID string `json:"comment_id"`
	PostID    string `json:"post_id"`
	ID        string `json:"id"`
}

func (c *call) sendLocked(st *store) (string, sent, *apiError) {
	var none sent
	if pg, ok := st.pageIdx[c.segs[0]]; ok {
		c.s.rec.logSend(st.pages[pg].id, c.now)
	}
	_, pg, pageID, e := c.resolve(st, "post", objPage)
	if e != nil {
		return pageID, none, e
	}
	if d := c.s.thr.allowSend(pageID, c.now); d > 0 {
		return pageID, none, errThrottled(c.buc, d)
	}
	rcp, e := parseRecipient(c.q.Get("recipient"))
	if e != nil {
		return pageID, none, e
	}
	text, e := parseText(c.q.Get("message"))
	if e != nil {
		return pageID, none, e
	}
	var sd Send
	switch {
	case rcp.CommentID != "":
		sd, e = c.replyToComment(st, pg, rcp.CommentID, text)
	case rcp.PostID != "":
		sd, e = c.replyToPost(st, pg, rcp.PostID, text)
	default:
		sd, e = c.replyInConversation(st, pg, rcp.ID, text)
	}
	if e != nil {
		return pageID, none, e
	}
	var j enc
	j.open()
	j.kstr("recipient_id", sd.RecipientID)
	j.kstr("message_id", sd.MessageID)
	j.close()
	return pageID, sent{body: j.b, rec: c.s.rec.send(sd)}, nil
}

func parseRecipient(v string) (recipient, *apiError) {
	var r recipient
	if strings.TrimSpace(v) == "" {
		return r, errParam("param recipient must be non-empty.")
	}
	if id, ok := plainMember(v, `{"comment_id":"`); ok {
		r.CommentID = id
	} else if err := json.Unmarshal([]byte(v), &r); err != nil {
		return r, errParam("param recipient must be a JSON object")
	}
	n := 0
	for _, s := range []string{r.CommentID, r.PostID, r.ID} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return r, errParam("Exactly one of recipient[id], recipient[comment_id] or recipient[post_id] must be set")
	}
	return r, nil
}

// plainMember reads v when it is exactly prefix + a string + `"}` and the
// string needs no unescaping (no quote, backslash or control character, valid
// UTF-8): what encoding/json would decode it to, without its reflection. Any
// other shape is left to encoding/json (FuzzPlainMember holds them equal).
func plainMember(v, prefix string) (string, bool) {
	if len(v) < len(prefix)+2 || v[:len(prefix)] != prefix || v[len(v)-2:] != `"}` {
		return "", false
	}
	s := v[len(prefix) : len(v)-2]
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	return s, utf8.ValidString(s)
}

func parseText(v string) (string, *apiError) {
	if strings.TrimSpace(v) == "" {
		return "", errParam("param message must be non-empty.")
	}
	var m struct {
		Text *string `json:"text"`
	}
	if t, ok := plainMember(v, `{"text":"`); ok {
		m.Text = &t
	} else if err := json.Unmarshal([]byte(v), &m); err != nil {
		return "", errParam("param message must be a JSON object")
	}
	if m.Text == nil || *m.Text == "" {
		return "", errParam("param message[text] must be non-empty.")
	}
	if utf8.RuneCountInString(*m.Text) > MaxTextLen {
		return "", errParam("Length of param message[text] must be less than or equal to %d", MaxTextLen)
	}
	return *m.Text, nil
}

// privateReply checks the rules shared by comments and posts, in the order Graph
// answers them, and delivers the reply into the person's conversation.
func (c *call) privateReply(st *store, kind, target string, pg, from int32, canReply bool, conv *int32, created int64, text string) (Send, *apiError) {
	switch {
	case from == byPage || !canReply:
		return Send{}, errNotReplyable()
	case !c.s.app.mayMessage(st.users[from].id):
		c.s.rec.refuseNotLive(Refusal{PageID: st.pages[pg].id, Kind: kind, Target: target, Time: c.now})
		return Send{}, errAppNotLive()
	case st.users[from].blocked:
		return Send{}, errUnavailable()
	case *conv >= 0:
		c.s.rec.refuse(Refusal{PageID: st.pages[pg].id, Kind: kind, Target: target, Time: c.now})
		return Send{}, errAlreadyReplied()
	case c.now.Unix()-created > int64(ReplyWindow.Seconds()):
		return Send{}, errTooOld()
	}
	ci := st.convFor(pg, from)
	*conv = ci
	return c.deliver(st, ci, text), nil
}

// deliver appends the Page's message to a conversation and returns the send.
func (c *call) deliver(st *store, ci int32, text string) Send {
	cv := &st.convs[ci]
	id := c.s.newMessageID()
	st.addMessage(ci, message{id: id, fromPage: true, text: text, created: c.now.Unix()})
	return Send{
		PageID:         st.pages[cv.page].id,
		RecipientID:    st.users[cv.user].id,
		ConversationID: convID(ci),
		Text:           text,
		MessageID:      id,
		Time:           c.now,
	}
}

func (c *call) replyToComment(st *store, pg int32, id, text string) (Send, *apiError) {
	kind, ci := st.lookup(id)
	if kind != objComment || st.pageOf(kind, ci) != pg {
		return Send{}, errNoObject("post", id)
	}
	cm := &st.comments[ci]
	sd, e := c.privateReply(st, KindComment, id, pg, cm.from, cm.canReply, &cm.conv, cm.created, text)
	sd.Kind, sd.Target = KindComment, id
	return sd, e
}

func (c *call) replyToPost(st *store, pg int32, id, text string) (Send, *apiError) {
	kind, pi := st.lookup(id)
	if kind != objPost || st.pageOf(kind, pi) != pg {
		return Send{}, errNoObject("post", id)
	}
	p := &st.posts[pi]
	sd, e := c.privateReply(st, KindPost, id, pg, p.from, p.canReply, &p.conv, p.created, text)
	sd.Kind, sd.Target = KindPost, id
	return sd, e
}

// replyInConversation answers a person in their conversation with the Page,
// allowed within 24 hours of their last message.
func (c *call) replyInConversation(st *store, pg int32, psid, text string) (Send, *apiError) {
	switch c.q.Get("messaging_type") {
	case "RESPONSE", "UPDATE":
	case "":
		return Send{}, errParam("param messaging_type must be set for a message to recipient[id]")
	default:
		return Send{}, errParam("param messaging_type must be one of {RESPONSE, UPDATE}")
	}
	u, ok := st.userIdx[psid]
	if !ok {
		return Send{}, errNoUser()
	}
	ci, ok := st.convIdx[[2]int32{pg, u}]
	if !ok {
		return Send{}, errNoUser()
	}
	if !c.s.app.mayMessage(psid) {
		c.s.rec.refuseNotLive(Refusal{PageID: st.pages[pg].id, Kind: KindConversation, Target: psid, Time: c.now})
		return Send{}, errAppNotLive()
	}
	if st.users[u].blocked {
		return Send{}, errUnavailable()
	}
	last := st.lastFromPerson(ci)
	if last == 0 || c.now.Unix()-last > int64(MessagingWindow.Seconds()) {
		return Send{}, errOutsideWindow()
	}
	sd := c.deliver(st, ci, text)
	sd.Kind, sd.Target = KindConversation, psid
	return sd, nil
}
