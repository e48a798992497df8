package sandbox

import (
	"net/url"
	"unicode/utf8"
)

// Node types, as Graph names them in "nonexisting field" errors.
const (
	nodePage         = "Page"
	nodePost         = "Post"
	nodeVideo        = "Video"
	nodeComment      = "Comment"
	nodeUser         = "User"
	nodeConversation = "Conversation"
	nodeMessage      = "Message"
)

// schemas lists, per node type, the fields Graph knows and the node type of each
// field's subfields ("" for a scalar). Fields the sandbox does not model are
// accepted and left out of answers, as Graph leaves out empty fields; a field
// Graph does not know is an error, as on Graph. private_reply_conversation is
// a comment's only: Meta documents it there, and its SDKs list it on Comment,
// not on Post or PagePost.
var schemas = map[string]map[string]string{
	nodePost: {
		"id": "", "created_time": "", "updated_time": "", "can_reply_privately": "", "message": "",
		"from": nodeUser, "comments": nodeComment,
		"permalink_url": "", "status_type": "", "is_published": "", "is_hidden": "", "story": "",
		"full_picture": "", "attachments": "", "shares": "", "message_tags": "", "reactions": "", "likes": "",
	},
	// A Reel is a Video: a description, not a message; no status_type,
	// is_published or can_reply_privately.
	nodeVideo: {
		"id": "", "created_time": "", "updated_time": "", "description": "", "title": "",
		"from": nodeUser, "comments": nodeComment, "permalink_url": "", "length": "", "status": "",
		"published": "", "picture": "", "source": "", "privacy": "", "place": "", "reactions": "", "likes": "",
		"is_instagram_eligible": "", "universal_video_id": "", "post_id": "", "embeddable": "", "format": "",
	},
	nodeComment: {
		"id": "", "created_time": "", "can_reply_privately": "", "message": "", "from": nodeUser,
		"parent": nodeComment, "comments": nodeComment, "private_reply_conversation": nodeConversation,
		"permalink_url": "", "is_hidden": "", "like_count": "", "comment_count": "", "user_likes": "",
		"can_comment": "", "can_like": "", "can_remove": "", "can_hide": "", "attachment": "",
		"message_tags": "", "object": "",
	},
	nodeUser: {"id": "", "name": "", "email": "", "picture": "", "first_name": "", "last_name": ""},
	nodeConversation: {
		"id": "", "updated_time": "", "participants": nodeUser, "senders": nodeUser, "messages": nodeMessage,
		"message_count": "", "unread_count": "", "snippet": "", "can_reply": "", "link": "",
		"is_subscribed": "", "former_participants": nodeUser,
	},
	nodeMessage: {
		"id": "", "message": "", "from": nodeUser, "to": nodeUser, "created_time": "",
		"attachments": "", "tags": "", "sticker": "", "shares": "",
	},
}

// checkFields reports the first field that a node type does not have. Pages
// have too many fields to list: any is accepted, only id and name answered.
func checkFields(fs []field, node string) *apiError {
	schema, ok := schemas[node]
	if !ok {
		return nil
	}
	for _, f := range fs {
		sub, ok := schema[f.name]
		if !ok {
			return errField(f.name, node)
		}
		if sub != "" {
			if e := checkFields(f.sub, sub); e != nil {
				return e
			}
		}
		if _, e := f.intMod("limit", 0); e != nil {
			return errParam("%v", e)
		}
		if o, ok := f.mods["order"]; ok {
			if _, e := reverseOrder(o); e != nil {
				return e
			}
		}
	}
	return nil
}

func (c *call) writePost(j *enc, st *store, pi int32, fs []field) {
	p := &st.posts[pi]
	id := st.postID(pi)
	j.open()
	for _, f := range fs {
		switch f.name {
		case "id":
			j.kstr("id", id)
		case "created_time":
			j.key("created_time")
			j.time(p.created)
		case "updated_time":
			j.key("updated_time")
			j.time(p.updated)
		case "can_reply_privately":
			j.key("can_reply_privately")
			j.bool(p.canReply)
		case "message", "description":
			if p.msg != "" {
				j.kstr(f.name, p.msg)
			}
		case "from":
			if !p.noFrom {
				j.key("from")
				writeUser(j, st, p.page, p.from, f.sub, false)
			}
		case "private_reply_conversation":
			writeReplyConv(j, p.conv)
		case "comments":
			c.writeNestedComments(j, st, objPost, pi, id, f)
		case "permalink_url":
			j.kstr("permalink_url", "https://www.facebook.com/"+id)
		case "status_type":
			if p.from == byPage {
				j.kstr("status_type", "mobile_status_update")
			} else {
				j.kstr("status_type", "wall_post")
			}
		case "is_published":
			j.key("is_published")
			j.bool(true)
		case "is_hidden":
			j.key("is_hidden")
			j.bool(false)
		}
	}
	j.close()
}

func (c *call) writeComment(j *enc, st *store, ci int32, fs []field) {
	cm := &st.comments[ci]
	pg := st.posts[cm.post].page
	id := st.commentID(ci)
	j.open()
	for _, f := range fs {
		switch f.name {
		case "id":
			j.kstr("id", id)
		case "created_time":
			j.key("created_time")
			j.time(cm.created)
		case "can_reply_privately":
			j.key("can_reply_privately")
			j.bool(cm.canReply)
		case "message":
			j.kstr("message", cm.msg)
		case "from":
			if !cm.noFrom {
				j.key("from")
				writeUser(j, st, pg, cm.from, f.sub, false)
			}
		case "parent":
			if cm.parent >= 0 {
				j.key("parent")
				c.writeComment(j, st, cm.parent, withDefaults(f.sub, "created_time", "from", "message", "id"))
			}
		case "private_reply_conversation":
			writeReplyConv(j, cm.conv)
		case "comments":
			c.writeNestedComments(j, st, objComment, ci, id, f)
		case "permalink_url":
			j.kstr("permalink_url", "https://www.facebook.com/"+st.postID(cm.post)+"?comment_id="+id)
		case "comment_count":
			j.key("comment_count")
			j.int(int64(len(st.replies[ci])))
		case "like_count":
			j.key("like_count")
			j.int(0)
		case "is_hidden":
			j.key("is_hidden")
			j.bool(cm.byPage)
		case "user_likes":
			j.key(f.name)
			j.bool(false)
		case "can_comment", "can_like", "can_remove", "can_hide":
			j.key(f.name)
			j.bool(true)
		}
	}
	j.close()
}

// writeReplyConv writes private_reply_conversation, present only once a private
// reply was sent.
func writeReplyConv(j *enc, conv int32) {
	if conv < 0 {
		return
	}
	j.key("private_reply_conversation")
	j.open()
	j.kstr("id", convID(conv))
	j.close()
}

// writeUser writes a person or, for byPage, the Page. Messenger objects carry an
// email as Graph's do.
func writeUser(j *enc, st *store, pg, u int32, sub []field, messenger bool) {
	id, name := st.pages[pg].id, st.pages[pg].name
	if u != byPage {
		id, name = st.users[u].id, st.users[u].name
	}
	if messenger {
		sub = withDefaults(sub, "name", "email", "id")
	} else {
		sub = withDefaults(sub, "name", "id")
	}
	j.open()
	for _, f := range sub {
		switch f.name {
		case "id":
			j.kstr("id", id)
		case "name":
			if name != "" {
				j.kstr("name", name)
			}
		case "email":
			j.kstr("email", id+"@facebook.com")
		}
	}
	j.close()
}

// writeNestedComments writes the comments field of a post or comment: only the
// first page, as Graph does, with a next link to the comments edge. An empty
// edge is left out unless a summary was asked for.
func (c *call) writeNestedComments(j *enc, st *store, kind int, i int32, id string, f field) {
	filter, order := f.mods["filter"], f.mods["order"]
	list, e := commentList(st, kind, i, filter)
	if e != nil {
		list = nil
	}
	reverse, _ := reverseOrder(order)
	list, key, reverse, listed := st.commentOrder(kind, i, list, reverse)
	n, _ := f.intMod("limit", defaultLimit)
	limit := limitOf(n)
	res := pageOf(list, key, pageReq{listing: listingOf("comments", id), limit: limit, reverse: reverse})
	summary := f.mods["summary"] == "true" || f.mods["summary"] == "1"
	if len(res.items) == 0 && !summary {
		return
	}
	sub := withDefaults(f.sub, "created_time", "from", "message", "id")
	j.key("comments")
	j.open()
	j.key("data")
	j.openArray()
	for _, ci := range res.items {
		c.writeComment(j, st, ci, sub)
	}
	j.closeArray()
	writePaging(j, res, func(key, cursor string) string {
		q := url.Values{}
		if f.subRaw != "" {
			q.Set("fields", f.subRaw)
		}
		q.Set("limit", itoa(limit))
		if order != "" {
			q.Set("order", order)
		}
		if filter != "" {
			q.Set("filter", filter)
		}
		return c.pageLink(c.vprefix+"/"+id+"/comments", q, key, cursor)
	})
	if summary {
		writeSummary(j, len(list), listed)
	}
	j.close()
}

func (c *call) writeConversation(j *enc, st *store, ci int32, fs []field) {
	cv := &st.convs[ci]
	id := convID(ci)
	j.open()
	for _, f := range fs {
		switch f.name {
		case "id":
			j.kstr("id", id)
		case "updated_time":
			j.key("updated_time")
			j.time(st.convUpdated(ci))
		case "link":
			j.kstr("link", "/"+st.pages[cv.page].id+"/inbox/"+id[2:]+"/")
		case "participants", "senders":
			j.key(f.name)
			j.open()
			j.key("data")
			j.openArray()
			writeUser(j, st, cv.page, cv.user, f.sub, true)
			writeUser(j, st, cv.page, byPage, f.sub, true)
			j.closeArray()
			j.close()
		case "messages":
			c.writeNestedMessages(j, st, ci, id, f)
		case "message_count":
			j.key("message_count")
			j.int(int64(len(cv.msgs)))
		case "unread_count":
			j.key("unread_count")
			j.int(0)
		case "snippet":
			if n := len(cv.msgs); n > 0 {
				j.kstr("snippet", snippet(cv.msgs[n-1].text))
			}
		case "can_reply":
			last := st.lastFromPerson(ci)
			j.key("can_reply")
			j.bool(last > 0 && c.now.Unix()-last <= int64(MessagingWindow.Seconds()))
		case "is_subscribed":
			j.key("is_subscribed")
			j.bool(true)
		}
	}
	j.close()
}

func snippet(s string) string {
	if utf8.RuneCountInString(s) <= 100 {
		return s
	}
	r := []rune(s)
	return string(r[:100])
}

// writeNestedMessages writes the first page of a conversation's messages, newest
// first, with a next link to the conversation's messages edge.
func (c *call) writeNestedMessages(j *enc, st *store, ci int32, id string, f field) {
	n, _ := f.intMod("limit", defaultLimit)
	limit := limitOf(n)
	res := pageOf(positions(len(st.convs[ci].msgs)), position, pageReq{listing: listingOf("messages", id), limit: limit, reverse: true})
	sub := withDefaults(f.sub, "id", "created_time")
	j.key("messages")
	j.open()
	j.key("data")
	j.openArray()
	for _, p := range res.items {
		c.writeMessage(j, st, ci, p, sub)
	}
	j.closeArray()
	writePaging(j, res, func(key, cursor string) string {
		q := url.Values{}
		if f.subRaw != "" {
			q.Set("fields", f.subRaw)
		}
		q.Set("limit", itoa(limit))
		return c.pageLink(c.vprefix+"/"+id+"/messages", q, key, cursor)
	})
	j.close()
}

func (c *call) writeMessage(j *enc, st *store, ci, pos int32, fs []field) {
	cv := &st.convs[ci]
	m := &cv.msgs[pos]
	from, to := cv.user, byPage
	if m.fromPage {
		from, to = byPage, cv.user
	}
	j.open()
	for _, f := range fs {
		switch f.name {
		case "id":
			j.kstr("id", m.id)
		case "message":
			j.kstr("message", m.text)
		case "created_time":
			j.key("created_time")
			j.time(m.created)
		case "from":
			j.key("from")
			writeUser(j, st, cv.page, from, f.sub, true)
		case "to":
			j.key("to")
			j.open()
			j.key("data")
			j.openArray()
			writeUser(j, st, cv.page, to, f.sub, true)
			j.closeArray()
			j.close()
		}
	}
	j.close()
}
