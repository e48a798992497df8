package config

import "testing"

// TestScheduleGapPastBusyDays: a schedule that polls more than 500 times a
// day, for some hours or on some days only, still has its night, weekend or
// month between polls measured: without the webhook, what is written then is
// too old for a reply by the next poll, and the config must say so.
func TestScheduleGapPastBusyDays(t *testing.T) {
	for _, tc := range []struct{ name, page, gap string }{
		{"business hours, conversations", "schedule: \"* 8-17 * * 1-5\"\nreply_to: [conversations]", "62h1m0s"},
		{"every minute on the 1st", "schedule: \"* * 1 * *\"", "30 days"},
		{"mornings and an evening hour, max_age 6h", "schedule: \"* 0-8,20 * * *\"\nmax_age: 6h", "11h1m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(withPage(tc.page, "")), env(nil)); !hasFieldError(t, err, "pages[0].schedule", "polls up to") {
				t.Errorf("schedule with polls up to %s apart accepted: %v", tc.gap, err)
			}
		})
	}
	// Their busy hours alone are no gap.
	if _, err := Parse([]byte(withPage("schedule: \"* 8-17 * * *\"\nreply_to: [comments]", "")), env(nil)); err != nil {
		t.Errorf("every minute 8 to 18 each day, comments: %v", err)
	}
}
