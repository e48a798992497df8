package tasks

import "testing"

// TestWebhookItemShown_audit12: an unhide's item (Shown) has a TaskID of
// its own, one per unhide time, beside its comment's add's item (kept
// WebhookItemRetention, which took the unhide for a redelivery); only a
// comment's unhide, at a time after 1970, is one.
func TestWebhookItemShown_audit12(t *testing.T) {
	add := WebhookItem{PageID: "100", Kind: KindComment, ID: "1_2"}
	shown, later := add, add
	shown.Shown, later.Shown = 1767000000000, 1767000001000
	ids := map[string]bool{add.TaskID(): true, shown.TaskID(): true, later.TaskID(): true}
	if len(ids) != 3 || add.TaskID() != "webhook:comment:1_2" {
		t.Errorf("TaskIDs %v; want three, the add's webhook:comment:1_2", ids)
	}
	for _, it := range []WebhookItem{add, shown} {
		if err := it.Validate(); err != nil {
			t.Errorf("%+v: %v", it, err)
		}
	}
	for _, it := range []WebhookItem{
		{PageID: "100", Kind: KindPost, ID: "100_2", Shown: 1},
		{PageID: "100", Kind: KindComment, ID: "1_2", Shown: -1},
	} {
		if it.Validate() == nil {
			t.Errorf("%+v valid; want refused", it)
		}
	}
}
