package graph

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// answerSecrets are the secrets redactAnswer is given on a call with an app
// secret: the token, the app secret and the appsecret_proof.
func answerSecrets() []string {
	return []string{testToken, testSecret, AppSecretProof(testSecret, testToken)}
}

// TestRedactAnswerKeepsValues_audit13: an answer holding no secret decodes to
// the same values after redactAnswer as before, whatever its strings hold:
// escaped quotes, a backslash at a string's end, \u escapes of non-ASCII
// text and surrogate pairs (Graph writes non-ASCII so), <, > and &, invalid
// UTF-8, lone surrogates; and a body that is not JSON comes back as it is.
func TestRedactAnswerKeepsValues_audit13(t *testing.T) {
	bodies := []string{
		`{"message":"he said \"hi\" \\"}`,
		`{"message":"ends in a backslash \\","id":"1_2"}`,
		`{"message":"caf\u00e9 \ud83d\ude00 <b>&amp;</b> \u003c","from":{"name":"Ren\u00e9e"}}`,
		`{"message":"lone \ud83d surrogate \ude00 and \u0000 nul","id":"7_11"}`,
		"{\"message\":\"raw invalid \xff\xfe utf-8 and caf\\u00e9\"}",
		`{"message":"\/ escaped slash \b\f\n\r\t caf\u00e9"}`,
		`{"data":[{"message":"\\\"\\","id":"1"},{"message":"x\u00e9\"","id":"2"}],"paging":{"next":"https:\/\/graph.facebook.com\/v25.0\/1\/comments?after=QVF\u00e9"}}`,
	}
	for _, sec := range [][]string{answerSecrets(), {"ab", "x"}, {"\u00e9\u00e9"}} {
		for _, b := range bodies {
			var want, got any
			if err := json.Unmarshal([]byte(b), &want); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			out := redactAnswer([]byte(b), sec)
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("secrets %q: %s became %s: %v", sec, b, out, err)
			}
			if strings.Contains(strings.Join(sec, ""), "\u00e9") {
				continue // é is a secret there: it goes
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("secrets %q: %s decoded %v, after redaction %s decodes %v", sec, b, want, out, got)
			}
		}
	}
	for _, b := range []string{`not json "abc`, `EAAG`, ``, `"`, `"\`, `{"a":"\u00e9`} {
		if out := redactAnswer([]byte(b), answerSecrets()); string(out) != b {
			t.Errorf("%q became %q", b, out)
		}
	}
}

// TestRedactAnswerSecretAmidText_audit13: a string holding a secret next to
// escaped quotes, backslashes and non-ASCII text loses the secret and keeps
// the rest of its value.
func TestRedactAnswerSecretAmidText_audit13(t *testing.T) {
	for _, sec := range answerSecrets() {
		esc := `\u00` + fmt.Sprintf("%02x", sec[0]) + sec[1:]
		for _, form := range []string{sec, esc} {
			b := `{"message":"\"q\" <&> caf\u00e9 \ud83d\ude00 ` + form + ` \\","id":"1_2"}`
			var v struct{ Message, ID string }
			if err := json.Unmarshal(redactAnswer([]byte(b), answerSecrets()), &v); err != nil {
				t.Fatal(err)
			}
			if want := "\"q\" <&> café 😀 [redacted] \\"; v.Message != want || v.ID != "1_2" {
				t.Errorf("%s: got %q %q, want %q", b, v.Message, v.ID, want)
			}
		}
	}
}

// listing100 is a 100-comment listing the way Graph writes one: non-ASCII
// text as \u escapes when nonASCII, and a next link carrying the token
// unless last.
func listing100(nonASCII bool, last ...bool) []byte {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		text := `Hello, how much is this one? I would like two of them, please.`
		name := `Jane Doe`
		if nonASCII {
			text = `Bonjour, combien co\u00fbte celui-ci ? J'en voudrais deux, s'il vous pla\u00eet \ud83d\ude00`
			name = `Ren\u00e9e M\u00fcller`
		}
		fmt.Fprintf(&b, `{"id":"1983306698425200_%d","created_time":"2026-12-01T10:00:00+0000","message":"%s","from":{"id":"%d","name":"%s"},"can_reply_privately":true}`, 100000+i, text, 7000000+i, name)
	}
	if len(last) > 0 && last[0] {
		b.WriteString(`],"paging":{"cursors":{"before":"QVFIUmx","after":"QVFIUnR"}}}`)
		return []byte(b.String())
	}
	b.WriteString(`],"paging":{"cursors":{"before":"QVFIUmx","after":"QVFIUnR"},"next":"https:\/\/graph.facebook.com\/v25.0\/1983306698425200_1\/comments?access_token=` + testToken + `&limit=100&after=QVFIUnR"}}`)
	return []byte(b.String())
}

func BenchmarkRedactAnswer_audit13(b *testing.B) {
	sec := answerSecrets()
	for _, last := range []bool{false, true} {
		for _, nonASCII := range []bool{false, true} {
			body := listing100(nonASCII, last)
			b.Run(fmt.Sprintf("nonASCII=%v/last=%v", nonASCII, last), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					redactAnswer(body, sec)
				}
			})
		}
	}
}

// BenchmarkDecodeListing_audit13 is what reading the same listing costs, for
// scale.
func BenchmarkDecodeListing_audit13(b *testing.B) {
	for _, nonASCII := range []bool{false, true} {
		body := listing100(nonASCII)
		b.Run(fmt.Sprintf("nonASCII=%v", nonASCII), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v struct {
					Data []Comment `json:"data"`
				}
				if err := json.Unmarshal(body, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestRedactAnswerDecodesWhatCouldHold_audit13: redactAnswer decodes only the
// strings whose value could hold a secret; on strings made of random pieces
// (the secrets raw, cut, or with one byte written as any JSON escape,
// non-ASCII text escaped or raw, escaped quotes and backslashes) it must
// leave no secret a decode of every string finds.
func TestRedactAnswerDecodesWhatCouldHold_audit13(t *testing.T) {
	for _, extra := range []string{`a/b"c\d`, "caf\u00e9\ufffd1"} {
		t.Run(extra, func(t *testing.T) { redactAnswerAgainstDecode(t, append(answerSecrets(), extra)) })
	}
}

// redactAnswerAgainstDecode is TestRedactAnswerDecodesWhatCouldHold_audit13
// with secrets: one holding bytes short escapes stand for, or one that is
// not ASCII (U+FFFD among them, what invalid UTF-8 decodes to).
func redactAnswerAgainstDecode(t *testing.T, sec []string) {
	inner := func(s string) string {
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	var pieces []string
	for _, s := range sec {
		pieces = append(pieces, inner(s), inner(s[:3]), inner(s[3:]))
		for k := 0; k < len(s); k++ {
			pieces = append(pieces, inner(s[:k])+fmt.Sprintf(`\u%04X`, s[k])+inner(s[k+1:]))
		}
	}
	pieces = append(pieces, `a\/b\"c\\d`, "caf\xff1", `caf\u00e9\ufffd1`, `\u00e9`, `\ud83d\ude00`, `é`, `\"`, `\\`, `\n`, `<&>`, `x`, `\/`, `\u0041`)
	seed := uint64(1)
	rnd := func(n int) int {
		seed = seed*6364136223846793005 + 1442695040888963407
		return int(seed>>33) % n
	}
	for range 3000 {
		var b strings.Builder
		b.WriteString(`{"a":"`)
		for range 1 + rnd(4) {
			b.WriteString(pieces[rnd(len(pieces))])
		}
		b.WriteString(`","b":["`)
		for range rnd(3) {
			b.WriteString(pieces[rnd(len(pieces))])
		}
		b.WriteString(`"]}`)
		body := b.String()
		var v struct {
			A string
			B []string
		}
		if err := json.Unmarshal(redactAnswer([]byte(body), sec), &v); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		for _, got := range append(v.B, v.A) {
			for _, s := range sec {
				if strings.Contains(got, s) {
					t.Fatalf("%s: %q holds %q", body, got, s)
				}
			}
		}
	}
}
