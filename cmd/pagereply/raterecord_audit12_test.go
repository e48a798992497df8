package main

import (
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
)

// TestRateRecordHasPersonGap_audit12: the record of a Page's pacing that
// each start compares with the last (and then runs the put-backs of the old
// pacing) changes with person_gap, so a gap lowered or turned off lets the
// replies put back for the old one go; a Page without person_gap keeps the
// record earlier versions wrote, so an upgrade wakes nothing. Seen failing
// before the fix: the record held the rate and burst only.
func TestRateRecordHasPersonGap_audit12(t *testing.T) {
	rate := config.Rate{N: 10, Per: time.Second}
	plain := config.Page{Rate: rate, Burst: 1}
	if got, want := rateRecord(&plain), "10/s burst 1"; got != want {
		t.Errorf("record without person_gap %q, want the earlier versions' %q", got, want)
	}
	long := config.Page{Rate: rate, Burst: 1, PersonGap: 6 * time.Hour}
	short := config.Page{Rate: rate, Burst: 1, PersonGap: 6 * time.Minute}
	if rateRecord(&long) == rateRecord(&short) || rateRecord(&long) == rateRecord(&plain) {
		t.Errorf("records %q, %q and %q: a changed person_gap must change the record", rateRecord(&long), rateRecord(&short), rateRecord(&plain))
	}
}
