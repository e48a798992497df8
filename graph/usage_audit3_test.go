package graph

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestRepeatedAppUsageHighestCounts: of an X-App-Usage header sent twice,
// the higher figures and the longer wait count, whichever comes first: the
// app at its limit is not forgotten for a lower second value.
func TestRepeatedAppUsageHighestCounts(t *testing.T) {
	h := http.Header{"X-App-Usage": {
		`{"call_count":97,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":9}`,
		`{"call_count":10,"total_cputime":1,"total_time":1}`,
	}}
	want := Usage{MaxPercent: 97, RegainAccess: 9 * time.Minute, AppPercent: 97}
	if got := ParseUsage(h); got != want {
		t.Errorf("ParseUsage = %+v, want %+v", got, want)
	}
}

// TestRepeatedAppUsageOverTheClient: an answer that repeats X-App-Usage is
// read whole, even when its first value is the one the last answer had.
func TestRepeatedAppUsageOverTheClient(t *testing.T) {
	const low = `{"call_count":10,"total_cputime":1,"total_time":1}`
	answers := []http.Header{{"X-App-Usage": {low}}, {"X-App-Usage": {low, `{"call_count":97,"total_cputime":1,"total_time":1}`}}}
	got := usageOfAnswers(t, answers, func(u Usage) int { return u.AppPercent })
	if want := []int{10, 97}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("app usage per answer = %v, want %v", got, want)
	}
}

// TestUsageScannerAgreesWithJSON: the scanner and encoding/json read alike
// the headers the scanner takes on itself: a malformed header is ignored
// whole (never read up to its fault), a figure in a padded string counts,
// a percentage is clamped to 1000, and a business use case header that is
// not an object is ignored.
func TestUsageScannerAgreesWithJSON(t *testing.T) {
	for _, tc := range []struct {
		name, key, value string
		want             Usage
	}{
		{"malformed figure after a valid one", "X-Page-Usage", `{"call_count":99,"total_time":1.2.3}`, Usage{}},
		{"malformed app usage", "X-App-Usage", `{"call_count":99,"total_time":-}`, Usage{}},
		{"padded string figure", "X-App-Usage", `{"call_count":" 99 ","total_cputime":1,"total_time":1}`, Usage{MaxPercent: 99, AppPercent: 99}},
		{"padded string wait", "X-Page-Usage", `{"call_count":1,"estimated_time_to_regain_access":" 7"}`, Usage{MaxPercent: 1, RegainAccess: 7 * time.Minute}},
		{"over 1000 clamped", "X-Page-Usage", `{"call_count":5000}`, Usage{MaxPercent: 1000}},
		{"business use case as an array", "X-Business-Use-Case-Usage", `["1",[{"type":"pages","call_count":99,"estimated_time_to_regain_access":7}]]`, Usage{}},
		{"business use case malformed list", "X-Business-Use-Case-Usage", `{"1":[{"type":"pages","call_count":99,"total_time":1.2.3}]}`, Usage{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{tc.key: {tc.value}}
			if got := ParseUsage(h); got != tc.want {
				t.Errorf("ParseUsage = %+v, want %+v", got, tc.want)
			}
			if got := parseUsageJSON(h); got != tc.want {
				t.Errorf("parseUsageJSON = %+v, want %+v", got, tc.want)
			}
		})
	}
}
