package tasks

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodeWebhookItem_audit12 decodes two webhook item payloads: one that
// decodes validates and re-encodes to itself, one that does not gets an
// error naming the webhook item, and two items have the same TaskID only
// when they are the same item (kind, id and unhide time): a TaskID shared
// by two items makes asynq take the second for a redelivery of the first,
// dropping it.
func FuzzDecodeWebhookItem_audit12(f *testing.F) {
	f.Add([]byte(`{"page_id":"100","kind":"comment","id":"100_1_2","post_id":"100_1","received_at":1700000000000}`),
		[]byte(`{"page_id":"100","kind":"comment","id":"100_1_2","received_at":1700000000000,"shown":1700000000000}`))
	f.Add([]byte(`{"page_id":"100","kind":"post","id":"100_9","received_at":1}`),
		[]byte(`{"page_id":"100","kind":"post","id":"100_9","shown":5}`))
	f.Add([]byte(`{"page_id":"100","kind":"comment","id":"1_2","shown":-1}`), []byte(`{"page_id":"x","kind":"comment","id":"1_2"}`))
	f.Add([]byte(`{"page_id":"100","kind":"comment","id":"1_2","shown":1.5}`), []byte(`null`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var its []WebhookItem
		for _, in := range [][]byte{a, b} {
			it, err := DecodeWebhookItem(in)
			if err != nil {
				if !strings.HasPrefix(err.Error(), "decode webhook item: ") {
					t.Fatalf("%q: error %q does not name the webhook item", in, err)
				}
				continue
			}
			if err := it.Validate(); err != nil {
				t.Fatalf("%q decoded to an invalid item %+v: %v", in, it, err)
			}
			out, err := json.Marshal(it)
			if err != nil {
				t.Fatal(err)
			}
			if back, err := DecodeWebhookItem(out); err != nil || back != it {
				t.Fatalf("%q: %+v re-encodes to %s, decoded %+v, %v", in, it, out, back, err)
			}
			its = append(its, it)
		}
		if len(its) == 2 && its[0].TaskID() == its[1].TaskID() &&
			(its[0].Kind != its[1].Kind || its[0].ID != its[1].ID || its[0].Shown != its[1].Shown) {
			t.Fatalf("items %+v and %+v share the TaskID %q", its[0], its[1], its[0].TaskID())
		}
	})
}
