package tasks

import (
	"strconv"
	"unicode/utf8"
)

// scanReply decodes a reply payload as json.Marshal writes it, a flat object
// of plain strings and one integer, without reflection: every reply task is
// decoded once per attempt. It reports false for anything else (escapes,
// unknown or differently cased keys, null, floats), which DecodeReply leaves
// to encoding/json; what it accepts is valid JSON that encoding/json decodes
// to the same Reply (a fuzz test holds it to that).
func scanReply(b []byte) (Reply, bool) {
	var r Reply
	i := 0
	ws := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	eat := func(c byte) bool {
		ws()
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	str := func() (string, bool) {
		if !eat('"') {
			return "", false
		}
		start := i
		for i < len(b) {
			c := b[i]
			switch {
			case c == '"':
				s := b[start:i]
				i++
				if !utf8.Valid(s) {
					return "", false
				}
				return string(s), true
			case c == '\\' || c < 0x20:
				return "", false
			}
			i++
		}
		return "", false
	}
	integer := func() (int64, bool) {
		ws()
		start := i
		if i < len(b) && b[i] == '-' {
			i++
		}
		digits := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == digits || b[digits] == '0' && i-digits > 1 {
			return 0, false
		}
		if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
			return 0, false
		}
		n, err := strconv.ParseInt(string(b[start:i]), 10, 64)
		return n, err == nil
	}
	if !eat('{') {
		return r, false
	}
	if !eat('}') {
		for {
			key, ok := str()
			if !ok || !eat(':') {
				return r, false
			}
			if key == "enqueued_at" || key == "created" {
				n, ok := integer()
				if !ok {
					return r, false
				}
				if key == "created" {
					r.Created = n
				} else {
					r.EnqueuedAt = n
				}
			} else {
				v, ok := str()
				if !ok {
					return r, false
				}
				switch key {
				case "page_id":
					r.PageID = v
				case "target":
					t, err := ParseTarget(v)
					if err != nil {
						return r, false
					}
					r.Target = t
				case "psid":
					r.PSID = v
				case "conversation_id":
					r.ConversationID = v
				case "text":
					r.Text = v
				case "source":
					r.Source = Source(v)
				case "person":
					r.Person = v
				default:
					return r, false
				}
			}
			if eat('}') {
				break
			}
			if !eat(',') {
				return r, false
			}
		}
	}
	ws()
	return r, i == len(b)
}
