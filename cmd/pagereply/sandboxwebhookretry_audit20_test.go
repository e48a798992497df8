package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSandboxCommandWebhookRetrySchedule_audit20: the Webhook that
// `pagereply sandbox --grow --webhook URL` delivers with redelivers as the
// README promises, Meta's way: waits from 1 s doubling to a minute, for 36
// hours after the first try by default (Meta's "over the next 36 hours"),
// for --webhook-retry-for when given, and a single try with 0; not a fixed
// count of tries. /_sandbox/stats shows the schedule of the very Webhook
// the growth delivers with.
func TestSandboxCommandWebhookRetrySchedule_audit20(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(hook.Close)
	for _, c := range []struct {
		flags []string
		want  sandboxRedelivery
	}{
		{nil, sandboxRedelivery{Attempts: 0, Backoff: "1s", MaxBackoff: "1m0s", RetryFor: "36h0m0s"}},
		{[]string{"--webhook-retry-for", "2h"}, sandboxRedelivery{Attempts: 0, Backoff: "1s", MaxBackoff: "1m0s", RetryFor: "2h0m0s"}},
		{[]string{"--webhook-retry-for", "0"}, sandboxRedelivery{Attempts: 1, Backoff: "1s", MaxBackoff: "1m0s", RetryFor: "0s"}},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		args := append([]string{"--addr", "127.0.0.1:0", "--pages", "1", "--posts", "1", "--comments", "1", "--conversations", "0",
			"--grow", "1/s", "--webhook", hook.URL + "/webhook"}, c.flags...)
		_, stderr, done := runSandboxWithSecret(ctx, "retry-schedule-secret-20", args...)
		addr := waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]
		_, st := getStats(t, addr)
		cancel()
		<-done
		if st.Webhook == nil || st.Webhook.Redelivery != c.want {
			t.Fatalf("flags %v: stats webhook %+v, want redelivery %+v", c.flags, st.Webhook, c.want)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--webhook-retry-for", "1h"}, "--webhook-retry-for says how long --webhook redelivers: give --webhook too"},
		{[]string{"--grow", "1/s", "--webhook", hook.URL, "--webhook-retry-for", "-1s"}, "--webhook-retry-for: -1s is out of range"},
	} {
		_, stderr, done := runSandboxWithSecret(context.Background(), "retry-schedule-secret-20", append([]string{"--addr", "127.0.0.1:0"}, c.args...)...)
		select {
		case code := <-done:
			if code != exitUsage || !strings.Contains(stderr.String(), c.want) {
				t.Fatalf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr.String(), exitUsage, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: still running, want a usage error", c.args)
		}
	}
}
