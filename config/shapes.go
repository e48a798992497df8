package config

import (
	"text/template"
	"text/template/parse"
)

// replyShape is one kind of input a Page's reply texts are rendered on:
// what intake.Check gives Page.Render for a comment, a visitor's post or a
// conversation message, by a person Graph names or not, with a text or
// none.
type replyShape struct {
	what string
	data TemplateData
	// primary: the shape every reply of its kind is like (a named person
	// writing words). It is rendered whatever a rule's match, and its text
	// must not come out empty: every reply of the kind would fail. On the
	// others an empty text is the template's choice ({{.Message}} alone on
	// a sticker), and a rule's text is rendered only on the messages its
	// match lets through.
	primary bool
}

// replyShapes returns the shapes of input pg's replies can have: for each
// kind it replies to (comments first, then visitors' posts, then
// conversation messages), each author (named, with a one-letter name, with
// no name, without from) and each message (words, none, one character).
// Each kind's primary shape comes first, then the two edge cases a template
// most often fails on (no text and no name, one character and a one-letter
// name). With no valid reply_to (an error of its own) it returns the
// comments' shapes, so the template is still checked.
func replyShapes(pg *Page) []replyShape {
	return pageShapes(pg).get()
}

// shapeSet is the shapes of one Page's input, built when first needed: a
// template that does not depend on the Page is checked on the shapes of the
// first Page with the same kinds only (compiled.check).
type shapeSet struct {
	pageID string
	kinds  uint8 // bit i: the Page replies to shapeKinds[i]
	shapes []replyShape
}

// shapeKinds are the kinds of reply, in the order their shapes are tried.
var shapeKinds = [...]string{ReplyComments, ReplyPosts, ReplyConversations}

// pageShapes returns the shapes of pg's input, not built yet.
func pageShapes(pg *Page) *shapeSet {
	s := &shapeSet{pageID: pg.ID}
	for i, k := range shapeKinds {
		if pg.Replies(k) {
			s.kinds |= 1 << i
		}
	}
	if s.kinds == 0 {
		s.kinds = 1 // comments
	}
	return s
}

// get builds the shapes.
func (s *shapeSet) get() []replyShape {
	if s.shapes == nil {
		s.shapes = buildShapes(s.pageID, s.kinds)
	}
	return s.shapes
}

// buildShapes returns the shapes of a Page pageID replying to kinds.
func buildShapes(pageID string, mask uint8) []replyShape {
	kinds := []struct { // in shapeKinds' order
		reply, what  string
		note         string // the ids the kind lacks
		postID, cmID string
	}{
		{ReplyComments, "comment", "", pageID + "_100000000000002", "100000000000002_100000000000003"},
		{ReplyPosts, "visitor's post", " (a post has no .CommentID)", pageID + "_100000000000004", ""},
		{ReplyConversations, "conversation message", " (a message has no .PostID and no .CommentID)", "", ""},
	}
	const sampleUser, samplePSID = "100000000000001", "6000000000000005"
	authors := []struct {
		what         string // " by ...", or "" for a named person
		name, userID string
		edge         int // with the message of the same edge, an early edge case
	}{
		{"", "Alex Doe", sampleUser, 0},
		{" by a person with no name", "", sampleUser, 1},
		{" by a person with a one-letter name", "A", sampleUser, 2},
		{" without from (no .UserID, no .Name)", "", "", -1},
	}
	messages := []struct {
		before, after string // around the kind: "a one-character comment", "a comment with no text"
		message       string
		edge          int
	}{
		{"a", "", "Hello, how much does it cost?", 0},
		{"a", " with no text", "", 1},
		{"a one-character", "", "?", 2},
	}
	var shapes []replyShape
	for i, k := range kinds {
		if mask&(1<<i) == 0 {
			continue
		}
		// The primary shape first, then no text and no name, then one
		// character and a one-letter name (the cases earlier versions
		// tried, whose errors name them), then the others.
		var early, rest []replyShape
		for _, a := range authors {
			if a.userID == "" && k.reply == ReplyConversations {
				// A conversation's person always has an id.
				continue
			}
			for _, m := range messages {
				s := replyShape{
					what: m.before + " " + k.what + m.after + a.what + k.note,
					data: TemplateData{
						FirstName: FirstName(a.name),
						Name:      a.name,
						UserID:    a.userID,
						Message:   m.message,
						PageID:    pageID,
						PostID:    k.postID,
						CommentID: k.cmID,
					},
					primary: a.edge == 0 && m.edge == 0,
				}
				if k.reply == ReplyConversations {
					s.data.UserID = samplePSID
				}
				if a.edge == m.edge {
					early = append(early, s)
				} else {
					rest = append(rest, s)
				}
			}
		}
		shapes = append(append(shapes, early...), rest...)
	}
	return shapes
}

// usesPage reports whether what t writes can depend on the Page: it reads
// .PageID or .PostID (which starts with the Page's id), or takes dot or $
// whole, which holds them ({{printf "%v" .}}). A template that does not
// renders alike on every Page's shapes, and is checked once (compiled.check).
// Dot inside a {{with}} is the with's value, which depends on the Page only
// if its pipeline does.
func usesPage(t *template.Template) bool {
	if t == nil || t.Tree == nil {
		return true
	}
	var walk func(n parse.Node, inWith bool) bool
	idents := func(ids []string) bool {
		for _, id := range ids {
			if id == "PageID" || id == "PostID" {
				return true
			}
		}
		return false
	}
	walk = func(n parse.Node, inWith bool) bool {
		switch n := n.(type) {
		case nil:
			return false
		case *parse.ListNode:
			if n == nil {
				return false
			}
			for _, c := range n.Nodes {
				if walk(c, inWith) {
					return true
				}
			}
		case *parse.ActionNode:
			return walk(n.Pipe, inWith)
		case *parse.PipeNode:
			if n == nil {
				return false
			}
			for _, c := range n.Cmds {
				if walk(c, inWith) {
					return true
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				if walk(a, inWith) {
					return true
				}
			}
		case *parse.IfNode:
			return walk(n.Pipe, inWith) || walk(n.List, inWith) || walk(n.ElseList, inWith)
		case *parse.WithNode:
			return walk(n.Pipe, inWith) || walk(n.List, true) || walk(n.ElseList, inWith)
		case *parse.RangeNode:
			return true
		case *parse.DotNode:
			return !inWith
		case *parse.FieldNode:
			return idents(n.Ident)
		case *parse.VariableNode:
			return len(n.Ident) == 1 && n.Ident[0] == "$" || idents(n.Ident)
		case *parse.ChainNode:
			return walk(n.Node, inWith) || idents(n.Field)
		case *parse.TextNode, *parse.StringNode, *parse.NumberNode, *parse.BoolNode,
			*parse.NilNode, *parse.IdentifierNode, *parse.CommentNode,
			*parse.BreakNode, *parse.ContinueNode:
			return false
		default:
			return true
		}
		return false
	}
	return walk(t.Tree.Root, false)
}
