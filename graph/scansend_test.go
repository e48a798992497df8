package graph

import (
	"encoding/json"
	"testing"
)

// FuzzScanSendResult holds the hand-written reader of a send's answer to
// encoding/json: whatever it accepts, encoding/json decodes to the same
// result, and the answers Graph gives take the fast path.
func FuzzScanSendResult(f *testing.F) {
	for _, s := range []string{
		`{"recipient_id":"1254459154682919","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}`,
		`{"message_id":"m_1","recipient_id":"2"}`,
		`{"message_id":"m_1"}`,
		`{"recipient_id":"2","message_id":""}`,
		`{"recipient_id":"2","message_id":"m_1","x":1}`,
		`{"recipient_id":"2", "message_id":"m_1"}`,
		`{"Message_ID":"m_1"}`,
		`{"message_id":"m_\u0031"}`,
		`{"message_id":"m_1","message_id":"m_2"}`,
		`{"message_id":"m_1"}x`,
		`[]`, `{}`, `"m_1"`, ``,
		// recipient_id as a JSON number, as Graph writes it in some answers.
		`{"recipient_id":1254459154682919,"message_id":"m_1"}`,
		`{"recipient_id":-1,"message_id":"m_1"}`, `{"recipient_id":1.5,"message_id":"m_1"}`,
		`{"recipient_id":1e3,"message_id":"m_1"}`, `{"recipient_id":null,"message_id":"m_1"}`,
		`{"recipient_id":true,"message_id":"m_1"}`, `{"recipient_id":{},"message_id":"m_1"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// decodeSendResult, the fast path or encoding/json: an answer it
		// takes names the message and re-encodes to itself; one it refuses
		// gets an error that says what is wrong.
		if r, err := decodeSendResult(b); err != nil {
			if err.Error() == "" {
				t.Fatalf("%q: empty error", b)
			}
		} else {
			if r.MessageID == "" {
				t.Fatalf("%q: accepted without message_id: %+v", b, r)
			}
			out, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := decodeSendResult(out); err != nil || back != r {
				t.Fatalf("%q: %+v re-encodes to %s, decoded %+v, %v", b, r, out, back, err)
			}
		}
		got, ok := scanSendResult(b)
		if !ok {
			return
		}
		var want SendResult
		if err := decodeObject(b, &want); err != nil {
			t.Fatalf("scanSendResult accepted %q, which encoding/json refuses: %v", b, err)
		}
		if got != want || got.MessageID == "" {
			t.Fatalf("%q: scanSendResult %+v, encoding/json %+v", b, got, want)
		}
	})
}

func TestScanSendResultTakesGraphsAnswer(t *testing.T) {
	for _, s := range []string{
		`{"recipient_id":"1254459154682919","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"}`,
		`{"message_id":"m_1","recipient_id":"2"}`,
		`{"message_id":"m_1"}`,
	} {
		if _, ok := scanSendResult([]byte(s)); !ok {
			t.Errorf("%s: not read by the fast path", s)
		}
	}
	for _, s := range []string{`{"message_id":""}`, `{"recipient_id":"2"}`, `{"message_id":"m_1","message_id":"m_2"}`, `{"message_id":"m_\u0031"}`} {
		if _, ok := scanSendResult([]byte(s)); ok {
			t.Errorf("%s: taken by the fast path", s)
		}
		r, err := decodeSendResult([]byte(s))
		var want SendResult
		jerr := json.Unmarshal([]byte(s), &want)
		if jerr == nil && want.MessageID != "" && (err != nil || r != want) {
			t.Errorf("%s: decodeSendResult %+v %v, encoding/json %+v", s, r, err, want)
		}
	}
}

// BenchmarkDecodeSendResult decodes a send's answer: Graph's shape takes the
// fast path (json is encoding/json alone, for comparison).
func BenchmarkDecodeSendResult(b *testing.B) {
	body := []byte(`{"recipient_id":"1254459154682919","message_id":"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P"}`)
	b.Run("scan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeSendResult(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var r SendResult
			if err := decodeObject(body, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
