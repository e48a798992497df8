package api

import (
	"testing"
	"time"
)

// TestShownItemTimeBeforeEpoch_audit16: an unhide whose created_time is at
// or before the Unix epoch (a zero or negative created_time) is read as one
// without a time: its item is shown at its receipt, valid, its post kept;
// not an item of Shown 0 (taken for a comment's add) or below (refused).
func TestShownItemTimeBeforeEpoch_audit16(t *testing.T) {
	const now = int64(1_780_000_000_000)
	for _, at := range []time.Time{time.Unix(0, 0), time.Unix(-86400, 0)} {
		it := shownItem("100", "100_1_2", changeValue{PostID: "100_1", At: at}, now)
		if it.Shown != now || it.PostID != "100_1" || it.Validate() != nil {
			t.Errorf("created_time %s: item %+v (valid: %v), want shown at %d with its post", at, it, it.Validate(), now)
		}
	}
}
