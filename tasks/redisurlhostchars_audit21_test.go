package tasks

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
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
		msgs, all := audit18Load(u)
		opt, err := RedisConnOpt(config.Redis{URL: u})
		switch {
		case len(msgs) != 1:
			t.Errorf("%q: config's redis.url problems %q (%s), want one", u, msgs, all)
		case err == nil:
			t.Errorf("%q: RedisConnOpt took it, to dial %q", u, opt.(asynq.RedisClientOpt).Addr)
		case err.Error() != "redis.url: "+msgs[0]:
			t.Errorf("%q: RedisConnOpt says %q, config's redis.url %q", u, err, msgs[0])
		case !strings.Contains(msgs[0], "not a host name or IP address"):
			t.Errorf("%q: says %q, want the host named as no host name", u, msgs[0])
		}
		if strings.Contains(all+errString(err), audit18Password[:3]) {
			t.Errorf("%q: message holds the password", u)
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
