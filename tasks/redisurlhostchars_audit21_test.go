package tasks

import (
	"strings"
	"testing"
)

// TestRedisURLHostChars_audit21: a host no resolver finds ("redis://]",
// found by CI's fuzzing; a bracket outside an IPv6 literal, a '<' or a '*')
// passed both config's redis.url
// and RedisConnOpt: go-redis dialled "]:6379", which the dialler refused
// with the host quoted, or looked up a name made of a typo at the first
// command. Both now refuse it with the same fixed words; host names with
// '-', '_' and digits, IPv4, and IPv6 in brackets are taken as before.
func TestRedisURLHostChars_audit21(t *testing.T) {
	for _, u := range []string{
		"redis://]",
		"redis://h]/0",
		"redis://a<b:6379/0",
		"rediss://u:" + audit18Password + "@redis*1:6380/0",
	} {
		if msg := audit18Refused(t, u); msg != "" && !strings.Contains(msg, "not a host name or IP address") {
			t.Errorf("%q: says %q, want the host named as no host name", u, msg)
		}
	}
	audit18BothDial(t, map[string]string{
		"redis://redis-1_a.example:6380/2": "redis-1_a.example:6380",
		"redis://10.0.0.7/0":               "10.0.0.7:6379",
		"redis://[::1]:6379/0":             "[::1]:6379",
		"redis://[fe80::1%25eth0]/0":       "[fe80::1%eth0]:6379",
		"redis://LOCALHOST:6379/0":         "LOCALHOST:6379",
	})
}
