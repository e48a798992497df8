package tasks

import (
	"net"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
)

// TestRedisURLColonHost_audit18: a host holding a ':' outside brackets with
// no port after its last ':' ("redis://default:kP9xQ:/0", a user and
// password written without "@host"; "redis://fe80::/0", an IPv6 address
// without brackets) passed the port check, which ran only on a port: both
// config's redis.url and RedisConnOpt took it, and go-redis dialled
// "[default:kP9xQ]:6379", a host made of the password, named in the
// resolver's error ("lookup default:kP9xQ: no such host") and every message
// that names the Redis. Both now refuse it, with the same words, which hold
// no part of the password; an IPv6 host in brackets, with or without a
// port, and a host ending in ':' are taken as before.
func TestRedisURLColonHost_audit18(t *testing.T) {
	pw := audit18Password
	for _, u := range []string{
		"redis://default:" + pw + ":/0",
		"redis://default:" + pw + ":",
		"rediss://u:" + pw + ":/1",
		"redis://" + pw + "::/0",
		"redis://fe80::/0",
	} {
		audit18Refused(t, u)
	}
	audit18BothDial(t, map[string]string{
		"redis://[::1]:/0":                "[::1]:6379",
		"redis://[::1]/0":                 "[::1]:6379",
		"redis://[fe80::1%25eth0]:6380/0": "[fe80::1%eth0]:6380",
		"redis://h:/0":                    "h:6379",
		"redis://u:" + pw + ":@h:/0":      "h:6379",
	})
}

// audit18Refused checks that config's redis.url and RedisConnOpt both
// refuse u, with the same one message, which holds no part of
// audit18Password, and returns that message ("" when they do not agree).
func audit18Refused(t *testing.T, u string) string {
	t.Helper()
	msgs, all := audit18Load(u)
	opt, err := RedisConnOpt(config.Redis{URL: u})
	switch {
	case len(msgs) != 1:
		t.Errorf("%q: config's redis.url problems %q (%s), want one", u, msgs, all)
	case err == nil:
		t.Errorf("%q: RedisConnOpt took it, to dial %q", u, opt.(asynq.RedisClientOpt).Addr)
	case err.Error() != "redis.url: "+msgs[0]:
		t.Errorf("%q: RedisConnOpt says %q, config's redis.url %q", u, err, msgs[0])
	}
	for _, s := range []string{all, errString(err)} {
		if strings.Contains(s, audit18Password[:3]) {
			t.Errorf("%q: message holds the password: %q", u, s)
		}
	}
	if len(msgs) != 1 || err == nil || err.Error() != "redis.url: "+msgs[0] {
		return ""
	}
	return msgs[0]
}

// dialsWrittenHost reports whether addr, a host:port RedisConnOpt dials,
// has a host that is a name without ':' or an IP address: go-redis puts
// any host holding a ':' in brackets, an IPv6 address's or not.
func dialsWrittenHost(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if !strings.Contains(host, ":") {
		return true
	}
	ip, _, _ := strings.Cut(host, "%")
	return net.ParseIP(ip) != nil
}
