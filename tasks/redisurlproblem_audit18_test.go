package tasks

import (
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/config"
)

// audit18Password is the password (or its head) in the URLs below: no
// message may hold it, nor its first characters.
const audit18Password = "kP9xQ"

// audit18Config is a configuration whose redis.url is ${R}: loaded with R
// set to a URL, it is refused for that URL alone.
const audit18Config = "redis: {url: \"${R}\"}\npages:\n  - {id: \"1\", access_token: t, default_text: hi}\n"

// audit18Load loads audit18Config with R set to u and returns the messages
// of its problems at redis.url, and the whole error's text.
func audit18Load(u string) (msgs []string, all string) {
	_, err := config.Parse([]byte(audit18Config), func(k string) (string, bool) { return u, k == "R" })
	if err == nil {
		return nil, ""
	}
	var walk func(error)
	walk = func(err error) {
		var fe *config.FieldError
		if errors.As(err, &fe) && fe == err {
			if fe.Path == "redis.url" {
				msgs = append(msgs, fe.Msg)
			}
			return
		}
		if m, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range m.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return msgs, err.Error()
}

// TestRedisURLProblemBothRefuse_audit18: config's redis.url and
// RedisConnOpt (bench's --redis) each had their own checks of a Redis URL,
// with their own words: RedisConnOpt took a query parameter, a database
// that is no number, a port past 65535 and junk after skip_verify, which
// config refused, and config said "no host" where RedisConnOpt said how to
// write the host. Both now call config.RedisURLProblem: every URL below is
// refused by both, with the same message (want, a piece of it), which
// holds no part of the password.
func TestRedisURLProblemBothRefuse_audit18(t *testing.T) {
	pw := audit18Password
	for _, tt := range []struct{ url, want string }{
		{"redis://:" + pw + "@127.0.0.1:6379/0\n", "starts or ends with white space"},
		{" redis://:" + pw + "@127.0.0.1:6379/0", "starts or ends with white space"},
		{"redis://:" + pw + "\x1b@127.0.0.1:6379/0", "holds a control character"},
		{"127.0.0.1:6379", "not a valid URL: write it as redis://host:port/db"},
		{"redis:6379/15", "not a valid URL: write it as redis://host:port/db"},
		{"default:" + pw + "@h:6379", "not a valid URL: write it as redis://host:port/db"},
		{"redis://:" + pw + "%zz@h:6379/0", "in the user or password, write % as %25"},
		{"redis://:" + pw + " x@h:6379/0", "in the user or password, write % as %25"},
		{"http://:" + pw + "@h:6379", "scheme must be redis:// or rediss://"},
		{"unix:///tmp/" + pw + ".sock", "scheme must be redis:// or rediss://"},
		{"redis://:4821#" + pw + "@redis:6379/0", "holds a # (write a # in the password as %23)"},
		{"redis://default:1234#" + pw + "@redis:6379/0", "holds a #"},
		{"rediss://h:6379/0#x", "holds a #"},
		{"redis://u:1234?client_name=" + pw + "@redis:6379/0", "has an @ after its host"},
		{"redis://u:1234/" + pw + "@redis:6379/0", "has an @ after its host"},
		{"rediss://u:1234?skip_verify=" + pw + "@redis:6379/0", "has an @ after its host"},
		{"redis:///0", "no host (write it as redis://host:port/db"},
		{"redis://:" + pw + "@/15", "no host"},
		{"redis://:6379/15", "no host"},
		{"redis:/15", "no host"},
		{"rediss://", "no host"},
		{"redis://h:99999/0", "the host has no valid port"},
		{"redis://:" + pw + "@h:0/0", "the host has no valid port"},
		{"redis://:" + pw + "@h:6379/x", "the path must be a database number"},
		{"redis://h:6379/-1", "the path must be a database number"},
		{"redis://h:6379/0/1", "the path must be a database number"},
		{"redis://h:6379/0?foo=bar", "takes no query parameters"},
		{"redis://:" + pw + "@h:6379/0?dial_timeout=abc", "takes no query parameters"},
		{"redis://h:6379/0?client_name=x", "takes no query parameters"},
		{"redis://h:6379/0?skip_verify=true", "takes no query parameters"},
		{"rediss://h:6379/0?skip_verify=true&db=2", "takes no query parameters"},
		{"rediss://h:6379/0?skip_verify=true;x=1", "takes no query parameters"},
		{"rediss://:" + pw + "@h:6379/0?skip_verify=maybe", "skip_verify must be true or false"},
	} {
		msgs, all := audit18Load(tt.url)
		opt, err := RedisConnOpt(config.Redis{URL: tt.url})
		switch {
		case len(msgs) != 1:
			t.Errorf("%q: config's redis.url problems %q (%s), want one", tt.url, msgs, all)
		case err == nil:
			t.Errorf("%q: RedisConnOpt took it as %#v, config refused it: %s", tt.url, opt, msgs[0])
		case err.Error() != "redis.url: "+msgs[0]:
			t.Errorf("%q: RedisConnOpt says %q, config's redis.url %q", tt.url, err, msgs[0])
		case !strings.Contains(msgs[0], tt.want):
			t.Errorf("%q: refused with %q, want %q", tt.url, msgs[0], tt.want)
		}
		for _, s := range []string{all, errString(err)} {
			if strings.Contains(s, pw[:3]) {
				t.Errorf("%q: message holds the password: %q", tt.url, s)
			}
		}
		if p := config.RedisURLProblem(tt.url); p == nil || errString(err) != "redis.url: "+p.Error() {
			t.Errorf("%q: RedisURLProblem %v, RedisConnOpt %v", tt.url, p, err)
		}
	}

	// URLs both take.
	audit18BothDial(t, map[string]string{
		"redis://127.0.0.1:6379/0":                      "127.0.0.1:6379",
		"redis://:" + pw + "@h:6379/15":                 "h:6379",
		"rediss://u:" + pw + "%23%2F%3F%40@h:6380/1":    "h:6380",
		"rediss://h:6380/1?skip_verify=true":            "h:6380",
		"rediss://h/?skip_verify=0":                     "h:6379",
		"redis://[::1]:6379":                            "[::1]:6379",
		"redis://h":                                     "h:6379",
		"redis://" + strings.ToLower(pw) + ".example:1": strings.ToLower(pw) + ".example:1",
	})

	// The text $NAME: config's redis.url says only ${NAME} is expanded (the
	// loader's rule, not a flag's); RedisConnOpt refuses it too, for its
	// scheme.
	if msgs, _ := audit18Load("$REDIS_URL"); len(msgs) != 1 || !strings.Contains(msgs[0], "a variable's name") {
		t.Errorf("$REDIS_URL from a variable: config says %q", msgs)
	}
	if _, err := RedisConnOpt(config.Redis{URL: "$REDIS_URL"}); err == nil || err.Error() != "redis.url: scheme must be redis:// or rediss://" {
		t.Errorf("$REDIS_URL: RedisConnOpt %v", err)
	}
}

// audit18BothDial checks that config's redis.url and RedisConnOpt both take
// each URL of want, and that RedisConnOpt dials the address it gives.
func audit18BothDial(t *testing.T, want map[string]string) {
	t.Helper()
	for u, addr := range want {
		if msgs, all := audit18Load(u); all != "" {
			t.Errorf("%q: config refused it: %q %s", u, msgs, all)
		}
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if err != nil {
			t.Errorf("%q: RedisConnOpt: %v", u, err)
			continue
		}
		if got := opt.(asynq.RedisClientOpt).Addr; got != addr {
			t.Errorf("%q: dials %q, want %q", u, got, addr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// FuzzRedisURLProblem_audit18: whatever RedisURLProblem takes, go-redis's
// ParseURL takes too and RedisConnOpt dials the host written in it (never
// its default localhost); whatever it refuses, RedisConnOpt refuses with
// its message.
func FuzzRedisURLProblem_audit18(f *testing.F) {
	for _, u := range []string{"redis://127.0.0.1:6379/0", "rediss://:pw@h:6380/1?skip_verify=1", "redis://h//0//", "redis://h/+1",
		"redis://[fe80::1%25eth0]:6379", "redis://h:/0", "rediss://h?", "rediss://h?&", "redis://u@h", "redis://h/%30", "redis://h/0%2F1", "redis://u:p:/0", "redis://]", "redis://h]/0"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, u string) {
		p := config.RedisURLProblem(u)
		opt, err := RedisConnOpt(config.Redis{URL: u})
		if p != nil {
			if u != "" && (err == nil || err.Error() != "redis.url: "+p.Error()) {
				t.Fatalf("%q: RedisURLProblem %q, RedisConnOpt %v", u, p, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: RedisURLProblem took it, RedisConnOpt: %v", u, err)
		}
		ro, err := redis.ParseURL(u)
		if err != nil {
			t.Fatalf("%q: RedisURLProblem took it, go-redis: %v", u, err)
		}
		if got := opt.(asynq.RedisClientOpt).Addr; got != ro.Addr || strings.HasPrefix(got, "localhost:") && !strings.Contains(strings.ToLower(u), "localhost") ||
			!dialsWrittenHost(got) {
			t.Fatalf("%q: dials %q (go-redis %q)", u, got, ro.Addr)
		}
	})
}
