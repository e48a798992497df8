package sandbox

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// enc writes JSON in the order fields were asked for, without reflection: a
// listing of 100 comments is the sandbox's hot path in benchmarks.
type enc struct{ b []byte }

// sep writes a comma unless a value is the first in its object or array.
func (e *enc) sep() {
	if n := len(e.b); n > 0 {
		switch e.b[n-1] {
		case '{', '[', ':':
		default:
			e.b = append(e.b, ',')
		}
	}
}

func (e *enc) open()       { e.sep(); e.b = append(e.b, '{') }
func (e *enc) close()      { e.b = append(e.b, '}') }
func (e *enc) openArray()  { e.sep(); e.b = append(e.b, '[') }
func (e *enc) closeArray() { e.b = append(e.b, ']') }

func (e *enc) key(k string) {
	e.sep()
	e.b = appendString(e.b, k)
	e.b = append(e.b, ':')
}

func (e *enc) str(s string) { e.sep(); e.b = appendString(e.b, s) }
func (e *enc) int(n int64)  { e.sep(); e.b = strconv.AppendInt(e.b, n, 10) }
func (e *enc) bool(v bool)  { e.sep(); e.b = strconv.AppendBool(e.b, v) }
func (e *enc) time(sec int64) {
	e.sep()
	e.b = append(e.b, '"')
	e.b = time.Unix(sec, 0).UTC().AppendFormat(e.b, TimeLayout)
	e.b = append(e.b, '"')
}

func (e *enc) kstr(k, v string) { e.key(k); e.str(v) }

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
