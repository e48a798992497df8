package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// env returns a lookupEnv over m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// minimal is the smallest valid configuration.
const minimal = `
pages:
  - id: "123"
    access_token: tok
`

// withPage returns a config with one Page that has extra (YAML lines at the
// Page's indentation) and then top (top-level YAML).
func withPage(extra, top string) string {
	var b strings.Builder
	b.WriteString("pages:\n  - id: \"123\"\n    access_token: tok\n")
	for l := range strings.SplitSeq(strings.Trim(extra, "\n"), "\n") {
		if l != "" {
			b.WriteString("    " + l + "\n")
		}
	}
	b.WriteString(top)
	return b.String()
}

func mustParse(t *testing.T, yaml string, vars map[string]string) *Config {
	t.Helper()
	c, err := Parse([]byte(yaml), env(vars))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, yaml)
	}
	return c
}

// fieldErrors returns every FieldError in err.
func fieldErrors(t *testing.T, err error) []*FieldError {
	t.Helper()
	if err == nil {
		return nil
	}
	var out []*FieldError
	var walk func(error)
	walk = func(e error) {
		var fe *FieldError
		if errors.As(e, &fe) && e == error(fe) {
			out = append(out, fe)
			return
		}
		if u, ok := e.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		if e := errors.Unwrap(e); e != nil {
			walk(e)
			return
		}
		t.Errorf("error %q (%T) is not made of FieldErrors", e, e)
	}
	walk(err)
	return out
}

// hasFieldError reports whether err holds a FieldError at path whose message
// contains msg.
func hasFieldError(t *testing.T, err error, path, msg string) bool {
	t.Helper()
	return slices.ContainsFunc(fieldErrors(t, err), func(fe *FieldError) bool {
		return fe.Path == path && strings.Contains(fe.Msg, msg)
	})
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, minimal, nil)
	yes := true
	want := &Config{
		Redis: Redis{URL: "redis://127.0.0.1:6379/0"},
		Graph: Graph{BaseURL: "https://graph.facebook.com", Version: "v25.0", Timeout: 10 * time.Second},
		Pages: []Page{{
			ID:          "123",
			AccessToken: "tok",
			Schedule:    "@every 1m",
			Rate:        Rate{N: 10, Per: time.Second},
			Burst:       1,
			MaxAge:      168 * time.Hour,
			ScanPosts:   720 * time.Hour,
		}},
		Worker:  Worker{Concurrency: 20, MaxRetry: 10},
		API:     API{Addr: "127.0.0.1:8080", Monitor: &yes, MonitorReadOnly: &yes},
		Log:     Log{Level: "info", Format: "json"},
		Metrics: Metrics{PageBuckets: &yes},

		secretsInFile: []string{"pages[0].access_token"},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %#v\nwant %#v", c, want)
	}
	p := &c.Pages[0]
	if !p.Replies(ReplyComments) || p.Replies(ReplyPosts) || p.Replies(ReplyConversations) {
		t.Errorf("default reply_to is not [comments]: %v", p.ReplyTo)
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		env   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{
			// A rule's text is tried on the edge cases its match lets
			// through only: this one never sees a short message.
			name: "rule for long messages only",
			yaml: withPage(`
rules:
  - {match: "(?i)^price of (.+)$", text: "About {{slice .Message 9}}: see our site."}
`, ""),
			check: func(t *testing.T, c *Config) {
				if len(c.Pages[0].Rules) != 1 {
					t.Errorf("rules: %+v", c.Pages[0].Rules)
				}
			},
		},
		{
			name: "everything set",
			yaml: withPage(`
schedule: "*/5 * * * *"
rate: 600/m
burst: 5
reply_to: [posts, conversations, comments]
max_age: 24h
scan_posts: 48h
rules:
  - {match: "(?i)price", text: "Price for {{.FirstName}}"}
default_text: ""
`, `
redis: {url: "rediss://user:pw@redis.example:6380/2"}
graph: {base_url: "http://127.0.0.1:8089/", version: v19.0, app_secret: s, timeout: 3s}
worker: {concurrency: 4, max_retry: 0}
webhook: {verify_token: v}
api: {addr: ":9090", tokens: [a, b], monitor: false, monitor_read_only: false}
log: {level: DEBUG, format: text}
`),
			check: func(t *testing.T, c *Config) {
				p := c.Pages[0]
				if p.Schedule != "*/5 * * * *" || p.Rate != (Rate{600, time.Minute}) || p.Burst != 5 ||
					p.MaxAge != 24*time.Hour || p.ScanPosts != 48*time.Hour || len(p.Rules) != 1 || p.DefaultText != "" {
					t.Errorf("page: %+v", p)
				}
				if !p.Replies(ReplyPosts) || !p.Replies(ReplyConversations) || !p.Replies(ReplyComments) {
					t.Errorf("reply_to: %v", p.ReplyTo)
				}
				if c.Redis.URL != "rediss://user:pw@redis.example:6380/2" {
					t.Errorf("redis.url: %q", c.Redis.URL)
				}
				if c.Graph.BaseURL != "http://127.0.0.1:8089" {
					t.Errorf("graph.base_url keeps its trailing slash: %q", c.Graph.BaseURL)
				}
				if c.Graph.Version != "v19.0" || c.Graph.Timeout != 3*time.Second {
					t.Errorf("graph: %v", c.Graph)
				}
				if c.Worker != (Worker{Concurrency: 4, MaxRetry: 0}) {
					t.Errorf("worker: explicit max_retry 0 must stay 0: %+v", c.Worker)
				}
				if *c.API.Monitor || *c.API.MonitorReadOnly || c.API.Addr != ":9090" || len(c.API.Tokens) != 2 {
					t.Errorf("api: %+v", c.API)
				}
				if c.Log != (Log{Level: "debug", Format: "text"}) {
					t.Errorf("log: %+v", c.Log)
				}
			},
		},
		{
			// person_gap is off unless set; 0 turns it off, 1h is the
			// longest, and half of max_age is allowed.
			name: "person_gap",
			yaml: "pages:\n" +
				"  - {id: \"1\", access_token: t}\n" +
				"  - {id: \"2\", access_token: t, person_gap: 0s}\n" +
				"  - {id: \"3\", access_token: t, person_gap: 500ms}\n" +
				"  - {id: \"4\", access_token: t, person_gap: 1h}\n" +
				"  - {id: \"5\", access_token: t, person_gap: 30m, max_age: 1h}\n",
			check: func(t *testing.T, c *Config) {
				want := []time.Duration{0, 0, 500 * time.Millisecond, time.Hour, 30 * time.Minute}
				for i, p := range c.Pages {
					if p.PersonGap != want[i] {
						t.Errorf("pages[%d].person_gap = %s, want %s", i, p.PersonGap, want[i])
					}
				}
			},
		},
		{
			name: "burst 0 stays 0",
			yaml: withPage("burst: 0", ""),
			check: func(t *testing.T, c *Config) {
				if c.Pages[0].Burst != 0 {
					t.Errorf("burst %d", c.Pages[0].Burst)
				}
			},
		},
		{
			name: "null values keep defaults",
			yaml: withPage("schedule:\nrate: ~\nreply_to: null", "worker:\n  max_retry:\napi:\n  monitor: ~\n"),
			check: func(t *testing.T, c *Config) {
				if p := c.Pages[0]; p.Schedule != DefaultSchedule || p.Rate != DefaultRate || p.ReplyTo != nil {
					t.Errorf("page: %+v", p)
				}
				if c.Worker.MaxRetry != DefaultMaxRetry || !*c.API.Monitor {
					t.Errorf("worker %+v api %+v", c.Worker, c.API)
				}
			},
		},
		{
			name: "unquoted numeric page id",
			yaml: "pages:\n  - id: 1983306698425200\n    access_token: tok\n",
			check: func(t *testing.T, c *Config) {
				if _, ok := c.Page("1983306698425200"); !ok {
					t.Errorf("page id %q", c.Pages[0].ID)
				}
			},
		},
		{
			name: "sentinel",
			yaml: minimal + "redis:\n  sentinel: {master: m, addrs: [\"h1:26379\", \"h2:26379\"], password: p, db: 3}\n  tls: true\n",
			check: func(t *testing.T, c *Config) {
				if c.Redis.URL != "" || c.Redis.Sentinel == nil || c.Redis.Sentinel.DB != 3 || !c.Redis.TLS {
					t.Errorf("redis: %#v", c.Redis)
				}
			},
		},
		{
			name: "cluster",
			yaml: minimal + "redis:\n  cluster: {addrs: [\"h1:7000\"]}\n",
			check: func(t *testing.T, c *Config) {
				if c.Redis.URL != "" || c.Redis.Cluster == nil {
					t.Errorf("redis: %#v", c.Redis)
				}
			},
		},
		{
			name: "merge keys",
			yaml: `
pages:
  - &first
    id: "1"
    access_token: tok
    rate: 5/s
    rules: &rules
      - {match: x, text: "hi {{.Name}}"}
  - <<: *first
    id: "2"
    rules: *rules
`,
			check: func(t *testing.T, c *Config) {
				if len(c.Pages) != 2 || c.Pages[1].ID != "2" || c.Pages[1].AccessToken != "tok" ||
					c.Pages[1].Rate != (Rate{5, time.Second}) || len(c.Pages[1].Rules) != 1 {
					t.Errorf("pages: %+v", c.Pages)
				}
			},
		},
		{
			name: "expansion",
			yaml: withPage(`default_text: "Hi $${{.FirstName}}, price$ ${GREETING}"`, `
redis: {url: "redis://:${REDIS_PW}@${REDIS_HOST}:6379/0"}
worker: {concurrency: "${CONC}", max_retry: "${RETRY}"}
api: {monitor: "${MON}", tokens: ["${T1}", "x${T2}y"]}
`),
			env: map[string]string{"GREETING": "welcome", "REDIS_PW": "pw", "REDIS_HOST": "h", "CONC": "7", "RETRY": "", "MON": "false", "T1": "one", "T2": "two"},
			check: func(t *testing.T, c *Config) {
				if got := c.Pages[0].DefaultText; got != "Hi ${{.FirstName}}, price$ welcome" {
					t.Errorf("default_text %q", got)
				}
				if c.Redis.URL != "redis://:pw@h:6379/0" {
					t.Errorf("redis.url %q", c.Redis.URL)
				}
				if c.Worker.Concurrency != 7 || c.Worker.MaxRetry != DefaultMaxRetry {
					t.Errorf("worker %+v (an empty variable keeps the default)", c.Worker)
				}
				if *c.API.Monitor || !reflect.DeepEqual(c.API.Tokens, []string{"one", "xtwoy"}) {
					t.Errorf("api %+v", c.API)
				}
			},
		},
		{
			name: "empty variable for a string",
			yaml: withPage("default_text: \"${EMPTY}\"", ""),
			env:  map[string]string{"EMPTY": ""},
			check: func(t *testing.T, c *Config) {
				if c.Pages[0].DefaultText != "" {
					t.Errorf("default_text %q", c.Pages[0].DefaultText)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mustParse(t, tt.yaml, tt.env))
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		yaml     string
		env      map[string]string
		wantPath string
		wantMsg  string // substring
		wantLine int    // 0: not checked
	}{
		// file
		{name: "syntax", yaml: "pages: [", wantPath: "", wantMsg: "a value is missing", wantLine: 1},
		{name: "syntax at the end", yaml: "log:\n  level: info\npages: [\n\n", wantPath: "", wantMsg: "a value is missing", wantLine: 3},
		{name: "not a mapping", yaml: "- a\n- b\n", wantPath: "", wantMsg: "want a mapping"},
		{name: "two documents", yaml: minimal + "---\n" + minimal, wantPath: "", wantMsg: "one YAML document"},
		{name: "empty file", yaml: "", wantPath: "pages", wantMsg: "at least one page"},
		{name: "unknown top key", yaml: minimal + "extra: 1\n", wantPath: "extra", wantMsg: "unknown key", wantLine: 5},
		{name: "unknown page key", yaml: withPage("acess_token: x", ""), wantPath: "pages[0].acess_token", wantMsg: "unknown key (known keys: id, access_token", wantLine: 4},
		{name: "unknown nested key", yaml: minimal + "redis:\n  sentinel:\n    master: m\n    addrs: [\"h:1\"]\n    passwd: x\n", wantPath: "redis.sentinel.passwd", wantMsg: "unknown key", wantLine: 9},
		{name: "unknown rule key", yaml: withPage("rules:\n  - {match: a, text: b, txt: c}", ""), wantPath: "pages[0].rules[0].txt", wantMsg: "unknown key"},
		{name: "merge of a scalar", yaml: "pages:\n  - {<<: x, id: \"1\", access_token: t}\n", wantPath: "pages[0]", wantMsg: "<< merges mappings"},
		{name: "merge of a list of scalars", yaml: "pages:\n  - {<<: [x], id: \"1\", access_token: t}\n", wantPath: "pages[0]", wantMsg: "<< merges mappings"},
		{name: "mapping key", yaml: minimal + "log: {[a]: b}\n", wantPath: "log", wantMsg: "keys must be strings"},
		{name: "rate as a list", yaml: withPage("rate: [1]", ""), wantPath: "pages[0].rate", wantMsg: "want a rate, got a list"},
		{name: "int as a mapping", yaml: minimal + "worker: {concurrency: {a: 1}}\n", wantPath: "worker.concurrency", wantMsg: "want an integer, got a mapping"},
		{name: "duplicate key", yaml: minimal + "log: {level: info, level: debug}\n", wantPath: "log.level", wantMsg: "duplicate key"},
		{name: "wrong kind", yaml: minimal + "worker: [1]\n", wantPath: "worker", wantMsg: "want a mapping, got a list"},
		{name: "list wanted", yaml: minimal + "api: {tokens: abc}\n", wantPath: "api.tokens", wantMsg: "want a list"},
		{name: "scalar wanted", yaml: minimal + "log: {level: [a]}\n", wantPath: "log.level", wantMsg: "want a string, got a list"},
		{name: "bad int", yaml: minimal + "worker: {concurrency: lots}\n", wantPath: "worker.concurrency", wantMsg: "is not an integer"},
		{name: "bad bool", yaml: minimal + "api: {monitor: maybe}\n", wantPath: "api.monitor", wantMsg: "not true or false"},
		{name: "bad duration", yaml: minimal + "graph: {timeout: 10}\n", wantPath: "graph.timeout", wantMsg: "not a duration"},

		// expansion
		{name: "unset variable", yaml: withPage("", "graph: {app_secret: \"${FB_APP_SECRET}\"}\n"), wantPath: "graph.app_secret", wantMsg: "environment variable FB_APP_SECRET is not set", wantLine: 4},
		{name: "unset variable in list", yaml: minimal + "api: {tokens: [a, \"${TOKEN}\"]}\n", wantPath: "api.tokens[1]", wantMsg: "TOKEN is not set"},
		{name: "unterminated", yaml: withPage(`default_text: "hi ${NAME"`, ""), wantPath: "pages[0].default_text", wantMsg: "unterminated"},
		{name: "bad variable name", yaml: withPage(`default_text: "hi ${1X}"`, ""), wantPath: "pages[0].default_text", wantMsg: "invalid variable name"},
		{name: "empty variable name", yaml: withPage(`default_text: "hi ${}"`, ""), wantPath: "pages[0].default_text", wantMsg: "invalid variable name"},
		{name: "token unset", yaml: "pages:\n  - id: \"1\"\n    access_token: ${PAGE_TOKEN}\n", wantPath: "pages[0].access_token", wantMsg: "environment variable PAGE_TOKEN is not set"},
		{name: "token set empty", yaml: "pages:\n  - id: \"1\"\n    access_token: ${PAGE_TOKEN}\n", env: map[string]string{"PAGE_TOKEN": ""}, wantPath: "pages[0].access_token", wantMsg: "required"},
		// Only ${VAR} is expanded: the shell's $VAR was kept as the text
		// "$PAGE_TOKEN", passed check (with a warning about a secret written
		// in the file) and failed every Graph call with code 190.
		{name: "token as $VAR", yaml: "pages:\n  - id: \"1\"\n    access_token: $PAGE_TOKEN\n", env: map[string]string{"PAGE_TOKEN": "t"}, wantPath: "pages[0].access_token", wantMsg: "is the text $PAGE_TOKEN: only ${PAGE_TOKEN} is taken from the environment"},
		{name: "redis url as $VAR", yaml: minimal + "redis: {url: $REDIS_URL}\n", wantPath: "redis.url", wantMsg: "is the text $REDIS_URL: only ${REDIS_URL} is taken from the environment"},
		// A variable whose value is $NAME (an env file that did not expand
		// it) is a secret elsewhere, but never a URL: still refused.
		{name: "redis url $VAR from a variable", yaml: minimal + "redis: {url: \"${R}\"}\n", env: map[string]string{"R": "$REDIS_URL"}, wantPath: "redis.url", wantMsg: "the value of ${R} is the text $NAME, a variable's name, not a URL: set the variable to the URL itself"},
		{name: "api token as $VAR", yaml: minimal + "api: {tokens: [$PAGEREPLY_API_TOKEN]}\n", wantPath: "api.tokens[0]", wantMsg: "only ${PAGEREPLY_API_TOKEN} is taken from the environment"},

		// redis
		{name: "url and sentinel", yaml: minimal + "redis: {url: \"redis://h:1\", sentinel: {master: m, addrs: [\"h:1\"]}}\n", wantPath: "redis", wantMsg: "exactly one of url, sentinel or cluster, not url and sentinel"},
		{name: "sentinel and cluster", yaml: minimal + "redis: {cluster: {addrs: [\"h:1\"]}, sentinel: {master: m, addrs: [\"h:1\"]}}\n", wantPath: "redis", wantMsg: "not sentinel and cluster"},
		{name: "url given empty", yaml: minimal + "redis: {url: \"\"}\n", wantPath: "redis", wantMsg: "set one of url, sentinel or cluster"},
		{name: "url scheme", yaml: minimal + "redis: {url: \"http://h:6379\"}\n", wantPath: "redis.url", wantMsg: "scheme must be redis:// or rediss://"},
		{name: "url no host", yaml: minimal + "redis: {url: \"redis:///0\"}\n", wantPath: "redis.url", wantMsg: "no host"},
		{name: "url bad db", yaml: minimal + "redis: {url: \"redis://h:6379/x\"}\n", wantPath: "redis.url", wantMsg: "database number"},
		{name: "url bad port", yaml: minimal + "redis: {url: \"redis://h:99999/0\"}\n", wantPath: "redis.url", wantMsg: "no valid port"},
		{name: "url query", yaml: minimal + "redis: {url: \"redis://h:6379/0?foo=bar\"}\n", wantPath: "redis.url", wantMsg: "takes no query parameters"},
		{name: "url query bad value", yaml: minimal + "redis: {url: \"redis://h:6379/0?dial_timeout=abc\"}\n", wantPath: "redis.url", wantMsg: "takes no query parameters"},
		{name: "url skip_verify without TLS", yaml: minimal + "redis: {url: \"redis://h:6379/0?skip_verify=true\"}\n", wantPath: "redis.url", wantMsg: "takes no query parameters"},
		{name: "url with tls", yaml: minimal + "redis: {url: \"redis://h:6379\", tls: true}\n", wantPath: "redis.tls", wantMsg: "rediss://"},
		{name: "sentinel no master", yaml: minimal + "redis: {sentinel: {addrs: [\"h:1\"]}}\n", wantPath: "redis.sentinel.master", wantMsg: "required"},
		{name: "sentinel no addrs", yaml: minimal + "redis: {sentinel: {master: m}}\n", wantPath: "redis.sentinel.addrs", wantMsg: "at least one"},
		{name: "sentinel bad addr", yaml: minimal + "redis: {sentinel: {master: m, addrs: [h]}}\n", wantPath: "redis.sentinel.addrs[0]", wantMsg: "not host:port"},
		{name: "sentinel negative db", yaml: minimal + "redis: {sentinel: {master: m, addrs: [\"h:1\"], db: -1}}\n", wantPath: "redis.sentinel.db", wantMsg: "negative"},
		{name: "cluster no addrs", yaml: minimal + "redis: {cluster: {addrs: []}}\n", wantPath: "redis.cluster.addrs", wantMsg: "at least one"},
		{name: "cluster addr without host", yaml: minimal + "redis: {cluster: {addrs: [\":7000\"]}}\n", wantPath: "redis.cluster.addrs[0]", wantMsg: "no host"},

		// graph
		{name: "version", yaml: minimal + "graph: {version: \"25.0\"}\n", wantPath: "graph.version", wantMsg: "not a version like v25.0"},
		{name: "version with more after it", yaml: minimal + "graph: {version: \"v25.0.1\"}\n", wantPath: "graph.version", wantMsg: "not a version like v25.0"},
		{name: "base_url scheme", yaml: minimal + "graph: {base_url: \"ftp://x\"}\n", wantPath: "graph.base_url", wantMsg: "http:// or https://"},
		{name: "base_url relative", yaml: minimal + "graph: {base_url: \"graph.facebook.com\"}\n", wantPath: "graph.base_url", wantMsg: "http:// or https://"},
		{name: "base_url query", yaml: minimal + "graph: {base_url: \"https://x/?a=b\"}\n", wantPath: "graph.base_url", wantMsg: "query"},
		{name: "base_url fragment", yaml: minimal + "graph: {base_url: \"https://x/#a\"}\n", wantPath: "graph.base_url", wantMsg: "fragment"},
		{name: "base_url user", yaml: minimal + "graph: {base_url: \"https://u:p@x\"}\n", wantPath: "graph.base_url", wantMsg: "user or password"},
		// The client puts graph.version after base_url's path: a base_url
		// copied with the version (".../v25.0") made every call ask for
		// /v25.0/v25.0/..., which Graph answers "Unsupported get request".
		{name: "base_url with the version", yaml: minimal + "graph: {base_url: \"https://graph.facebook.com/v25.0/\"}\n", wantPath: "graph.base_url", wantMsg: "holds a Graph API version (v25.0): give graph.version instead"},
		{name: "base_url prefix with the version", yaml: minimal + "graph: {base_url: \"https://proxy.example/graph/v19.0\"}\n", wantPath: "graph.base_url", wantMsg: "holds a Graph API version (v19.0)"},
		{name: "timeout zero", yaml: minimal + "graph: {timeout: 0s}\n", wantPath: "graph.timeout", wantMsg: "positive"},
		{name: "timeout negative", yaml: minimal + "graph: {timeout: -1s}\n", wantPath: "graph.timeout", wantMsg: "positive"},

		// pages
		{name: "no pages", yaml: "pages: []\n", wantPath: "pages", wantMsg: "at least one page"},
		{name: "id missing", yaml: "pages:\n  - access_token: t\n", wantPath: "pages[0].id", wantMsg: "required"},
		{name: "id not numeric", yaml: "pages:\n  - {id: \"my-page\", access_token: t}\n", wantPath: "pages[0].id", wantMsg: "not a numeric Page id"},
		{name: "id duplicate", yaml: minimal + "  - {id: \"123\", access_token: t}\n", wantPath: "pages[1].id", wantMsg: "already pages[0]", wantLine: 5},
		{name: "token missing", yaml: "pages:\n  - id: \"1\"\n", wantPath: "pages[0].access_token", wantMsg: "required", wantLine: 2},
		{name: "schedule", yaml: withPage("schedule: \"every minute\"", ""), wantPath: "pages[0].schedule", wantMsg: "has 2 fields, not 5"},
		{name: "schedule six fields", yaml: withPage("schedule: \"0 * * * * *\"", ""), wantPath: "pages[0].schedule", wantMsg: "has 6 fields, not 5 (seconds are not supported)"},
		{name: "schedule bad hour", yaml: withPage("schedule: \"0 25 * * *\"", ""), wantPath: "pages[0].schedule", wantMsg: "the hour (2nd) field is not valid: write 0-23"},
		{name: "schedule bad day of week", yaml: withPage("schedule: \"0 9 * * mon-fry\"", ""), wantPath: "pages[0].schedule", wantMsg: "the day-of-week (5th) field"},
		{name: "schedule unknown descriptor", yaml: withPage("schedule: \"@often\"", ""), wantPath: "pages[0].schedule", wantMsg: "not a descriptor cron knows"},
		{name: "schedule time zone alone", yaml: withPage("schedule: \"TZ=Europe/Paris\"", ""), wantPath: "pages[0].schedule", wantMsg: "no schedule after it"},
		{name: "schedule unknown time zone", yaml: withPage("schedule: \"TZ=Europe/Nowhere 0 9 * * *\"", ""), wantPath: "pages[0].schedule", wantMsg: "time zone (TZ=...) that is not known"},
		{name: "schedule every zero", yaml: withPage("schedule: \"@every 0s\"", ""), wantPath: "pages[0].schedule", wantMsg: "positive"},
		{name: "schedule that never runs", yaml: withPage("schedule: \"0 0 30 2 *\"", ""), wantPath: "pages[0].schedule", wantMsg: "never runs: no date matches it"},
		{name: "schedule every bad", yaml: withPage("schedule: \"@every soon\"", ""), wantPath: "pages[0].schedule", wantMsg: "@every needs a Go duration"},
		{name: "schedule slower than the reply window", yaml: withPage("schedule: \"@every 200h\"", ""), wantPath: "pages[0].schedule", wantMsg: "polls up to 200h apart, not less than the reply window of 168h (max_age): without the webhook"},
		{name: "schedule monthly", yaml: withPage("schedule: \"@monthly\"", ""), wantPath: "pages[0].schedule", wantMsg: "reply window of 168h (max_age):"},
		{name: "schedule slower than a short max_age", yaml: withPage("schedule: \"@every 3h\"\nmax_age: 2h30m", ""), wantPath: "pages[0].schedule", wantMsg: "polls up to 3h apart, not less than the reply window of 2h30m0s (max_age):"},
		{name: "schedule slower than Messenger's window, max_age just longer", yaml: withPage("schedule: \"@every 24h10m\"\nmax_age: 24h30m\nreply_to: [conversations]", ""), wantPath: "pages[0].schedule", wantMsg: "reply window of 24h (Messenger's window for conversations)"},
		{name: "schedule daily with conversations", yaml: withPage("schedule: \"@daily\"\nreply_to: [comments, conversations]", ""), wantPath: "pages[0].schedule", wantMsg: "polls up to 24h apart, not less than the reply window of 24h (Messenger's window for conversations): without the webhook"},
		// The webhook brings comments and posts, not Messenger messages:
		// before, with it, any schedule loaded, and messages written in the
		// first hours after a daily poll were past their window at the next.
		{name: "schedule daily with conversations and the webhook", yaml: withPage("schedule: \"@daily\"\nreply_to: [comments, conversations]", "graph: {app_secret: s}\nwebhook: {verify_token: v}\n"), wantPath: "pages[0].schedule", wantMsg: "the webhook brings no Messenger messages"},
		{name: "schedule weekdays with conversations", yaml: withPage("schedule: \"0 9 * * 1-5\"\nreply_to: [conversations]", ""), wantPath: "pages[0].schedule", wantMsg: "polls up to 72h apart"},
		{name: "rate zero", yaml: withPage("rate: 0/s", ""), wantPath: "pages[0].rate", wantMsg: "positive"},
		{name: "rate negative", yaml: withPage("rate: -3/s", ""), wantPath: "pages[0].rate", wantMsg: "positive"},
		{name: "rate unit", yaml: withPage("rate: 10/d", ""), wantPath: "pages[0].rate", wantMsg: "s, m, h"},
		{name: "rate bare number", yaml: withPage("rate: 10", ""), wantPath: "pages[0].rate", wantMsg: "want N/s"},
		{name: "burst negative", yaml: withPage("burst: -1", ""), wantPath: "pages[0].burst", wantMsg: "negative"},
		{name: "reply_to empty", yaml: withPage("reply_to: []", ""), wantPath: "pages[0].reply_to", wantMsg: "at least one"},
		{name: "reply_to unknown", yaml: withPage("reply_to: [comments, messages]", ""), wantPath: "pages[0].reply_to[1]", wantMsg: "is not one of comments, posts, conversations"},
		{name: "reply_to twice", yaml: withPage("reply_to: [posts, comments, posts]", ""), wantPath: "pages[0].reply_to[2]", wantMsg: "listed twice"},
		{name: "max_age too long", yaml: withPage("max_age: 169h", ""), wantPath: "pages[0].max_age", wantMsg: "at most 168h"},
		{name: "max_age zero", yaml: withPage("max_age: 0s", ""), wantPath: "pages[0].max_age", wantMsg: "more than 0"},
		{name: "scan_posts zero", yaml: withPage("scan_posts: 0h", ""), wantPath: "pages[0].scan_posts", wantMsg: "positive"},
		{name: "person_gap negative", yaml: withPage("person_gap: -1s", ""), wantPath: "pages[0].person_gap", wantMsg: "between 0 (off) and 1h"},
		{name: "person_gap too long", yaml: withPage("person_gap: 61m", ""), wantPath: "pages[0].person_gap", wantMsg: "between 0 (off) and 1h"},
		{name: "person_gap not a duration", yaml: withPage("person_gap: 3", ""), wantPath: "pages[0].person_gap", wantMsg: "is not a duration"},
		{name: "person_gap past half of max_age", yaml: withPage("person_gap: 1h\nmax_age: 90m", ""), wantPath: "pages[0].person_gap", wantMsg: "at most half of max_age (1h30m0s)"},
		{name: "rule match missing", yaml: withPage("rules:\n  - text: hi", ""), wantPath: "pages[0].rules[0].match", wantMsg: "required"},
		{name: "rule match invalid", yaml: withPage("rules:\n  - {match: \"(a\", text: hi}", ""), wantPath: "pages[0].rules[0].match", wantMsg: "is not a valid Go regexp: missing closing )"},
		{name: "rule text missing", yaml: withPage("rules:\n  - {match: a}", ""), wantPath: "pages[0].rules[0].text", wantMsg: "required"},
		{name: "rule text invalid", yaml: withPage("rules:\n  - {match: a, text: \"{{.FirstName\"}", ""), wantPath: "pages[0].rules[0].text", wantMsg: "an action {{ is not closed with }}"},
		{name: "rule text misspelt field", yaml: withPage("rules:\n  - {match: a, text: \"Hi {{.Nmae}}\"}", ""), wantPath: "pages[0].rules[0].text", wantMsg: "the action at column 6 names a field reply texts do not have (did you mean .Name?); the fields are .FirstName, .Name,"},
		{name: "rule text unknown function", yaml: withPage("rules:\n  - {match: a, text: \"{{upper .Name}}\"}", ""), wantPath: "pages[0].rules[0].text", wantMsg: "calls a function that does not exist; the functions are and,"},
		{name: "rule text renders empty", yaml: withPage("rules:\n  - {match: a, text: \"{{if false}}x{{end}}  \"}", ""), wantPath: "pages[0].rules[0].text", wantMsg: "empty"},
		{name: "second rule", yaml: withPage("rules:\n  - {match: a, text: ok}\n  - {match: b, text: \"{{.Nope}}\"}", ""), wantPath: "pages[0].rules[1].text", wantMsg: "names a field reply texts do not have"},
		{name: "default_text invalid", yaml: withPage("default_text: \"{{end}}\"", ""), wantPath: "pages[0].default_text", wantMsg: "an unexpected {{end}}: it closes no {{if}} or {{with}}"},
		{name: "default_text misspelt", yaml: withPage("default_text: \"Hi {{.firstName}}\"", ""), wantPath: "pages[0].default_text", wantMsg: "names a field reply texts do not have (did you mean .FirstName?)"},
		{name: "default_text blank", yaml: withPage("default_text: \"  \"", ""), wantPath: "pages[0].default_text", wantMsg: "empty"},
		{name: "default_text too long", yaml: withPage("default_text: \""+strings.Repeat("é", 2001)+"\"", ""), wantPath: "pages[0].default_text", wantMsg: "longer than 2000"},
		{name: "default_text runaway", yaml: withPage("default_text: \"{{printf \\\"%999999d\\\" 1}}{{printf \\\"%999999d\\\" 1}}\"", ""), wantPath: "pages[0].default_text", wantMsg: "longer than 2000"},
		{name: "range", yaml: withPage("default_text: \"{{range 1000000000000}}{{end}}x\"", ""), wantPath: "pages[0].default_text", wantMsg: "{{range}} is not allowed"},
		{name: "range in if", yaml: withPage("default_text: \"{{if .Name}}{{else}}{{with .Name}}{{range 5}}{{end}}{{end}}{{end}}x\"", ""), wantPath: "pages[0].default_text", wantMsg: "{{range}} is not allowed"},
		{name: "range in with's else", yaml: withPage("default_text: \"{{with .Name}}x{{else}}{{range 5}}{{end}}{{end}}x\"", ""), wantPath: "pages[0].default_text", wantMsg: "{{range}} is not allowed"},
		{name: "define", yaml: withPage("default_text: \"{{define \\\"a\\\"}}x{{end}}y\"", ""), wantPath: "pages[0].default_text", wantMsg: "{{define}} is not allowed"},
		{name: "template", yaml: withPage("rules: [{match: a, text: \"{{template \\\"b\\\"}}x\"}]", ""), wantPath: "pages[0].rules[0].text", wantMsg: "{{template}} is not allowed"},
		{name: "template failing on a short comment", yaml: withPage("default_text: \"You said: {{slice .Message 0 20}}\"", ""), wantPath: "pages[0].default_text", wantMsg: "on a comment with no text by a person with no name: the action at column 13 calls a function that fails"},
		{name: "template failing on a one-character comment", yaml: withPage("default_text: \"You said: {{if .Message}}{{slice .Message 0 2}}{{end}}\"", ""), wantPath: "pages[0].default_text", wantMsg: "on a one-character comment by a person with a one-letter name:"},
		{name: "template failing on a nameless person", yaml: withPage("rules: [{match: \"^$|a\", text: \"Hi {{index .FirstName 0}}\"}]", ""), wantPath: "pages[0].rules[0].text", wantMsg: "on a comment with no text by a person with no name:"},
		{name: "second page", yaml: minimal + "  - {id: \"5\", access_token: t, schedule: nope}\n", wantPath: "pages[1].schedule", wantMsg: "has 1 field, not 5"},

		// worker, webhook, api, log
		{name: "concurrency zero", yaml: minimal + "worker: {concurrency: 0}\n", wantPath: "worker.concurrency", wantMsg: "at least 1"},
		{name: "max_retry negative", yaml: minimal + "worker: {max_retry: -1}\n", wantPath: "worker.max_retry", wantMsg: "negative"},
		{name: "webhook without app secret", yaml: minimal + "webhook: {verify_token: v}\n", wantPath: "webhook.verify_token", wantMsg: "graph.app_secret"},
		{name: "api addr", yaml: minimal + "api: {addr: localhost}\n", wantPath: "api.addr", wantMsg: "not host:port"},
		{name: "api addr port", yaml: minimal + "api: {addr: \"localhost:http\"}\n", wantPath: "api.addr", wantMsg: "no valid port"},
		{name: "api addr not an IP", yaml: minimal + "api: {addr: \"256.1.1.1:8080\"}\n", wantPath: "api.addr", wantMsg: "not an IP address"},
		{name: "api addr port past 65535", yaml: minimal + "api: {addr: \"127.0.0.1:65536\"}\n", wantPath: "api.addr", wantMsg: "no valid port"},
		{name: "api empty token", yaml: minimal + "api: {tokens: [a, \" \"]}\n", wantPath: "api.tokens[1]", wantMsg: "empty token"},
		{name: "api token from empty variable", yaml: minimal + "api: {tokens: [\"${T}\"]}\n", env: map[string]string{"T": ""}, wantPath: "api.tokens[0]", wantMsg: "empty token"},
		{name: "api token with a trailing newline", yaml: minimal + "api: {tokens: [\"${T}\"]}\n", env: map[string]string{"T": "0123456789abcdef0123\n"}, wantPath: "api.tokens[0]", wantMsg: "starts or ends with white space"},
		{name: "api token with a leading space", yaml: minimal + "api: {tokens: [a, \" 0123456789abcdef0123\"]}\n", wantPath: "api.tokens[1]", wantMsg: "starts or ends with white space"},
		{name: "verify_token with a trailing newline", yaml: minimal + "graph: {app_secret: s3cret}\nwebhook: {verify_token: \"${V}\"}\n", env: map[string]string{"V": "verify-me\n"}, wantPath: "webhook.verify_token", wantMsg: "starts or ends with white space"},
		{name: "app_secret with a trailing CRLF", yaml: minimal + "graph: {app_secret: \"${S}\"}\n", env: map[string]string{"S": "s3cret\r\n"}, wantPath: "graph.app_secret", wantMsg: "starts or ends with white space"},
		{name: "app_secret with a trailing tab", yaml: minimal + "graph: {app_secret: \"s3cret\\t\"}\n", wantPath: "graph.app_secret", wantMsg: "starts or ends with white space"},
		{name: "access_token with a trailing newline", yaml: "pages:\n  - id: \"1\"\n    access_token: ${PAGE_TOKEN}\n", env: map[string]string{"PAGE_TOKEN": "EAABtoken\n"}, wantPath: "pages[0].access_token", wantMsg: "starts or ends with white space"},
		{name: "access_token with a control character", yaml: "pages:\n  - id: \"1\"\n    access_token: ${PAGE_TOKEN}\n", env: map[string]string{"PAGE_TOKEN": "EAAB\x1btoken"}, wantPath: "pages[0].access_token", wantMsg: "holds a control character"},
		// Redis's secrets come from files and variables too: before, a
		// trailing newline was "not a valid URL" or, in a password, passed
		// check and failed at start with Redis refusing the credentials.
		{name: "redis url with a trailing newline", yaml: "redis: {url: \"${R}\"}\n" + minimal, env: map[string]string{"R": "redis://:pw@127.0.0.1:6379/0\n"}, wantPath: "redis.url", wantMsg: "starts or ends with white space"},
		{name: "redis url with a trailing space", yaml: "redis: {url: \"${R}\"}\n" + minimal, env: map[string]string{"R": "redis://:pw@127.0.0.1:6379/0 "}, wantPath: "redis.url", wantMsg: "starts or ends with white space"},
		{name: "sentinel password with a trailing newline", yaml: "redis: {sentinel: {master: m, addrs: [\"127.0.0.1:26379\"], password: \"${R}\"}}\n" + minimal, env: map[string]string{"R": "s3cret-password\n"}, wantPath: "redis.sentinel.password", wantMsg: "starts or ends with white space"},
		{name: "sentinel's own password with a trailing newline", yaml: "redis: {sentinel: {master: m, addrs: [\"127.0.0.1:26379\"], sentinel_password: \"${R}\"}}\n" + minimal, env: map[string]string{"R": "s3cret-password\n"}, wantPath: "redis.sentinel.sentinel_password", wantMsg: "starts or ends with white space"},
		{name: "cluster password with a control character", yaml: "redis: {cluster: {addrs: [\"127.0.0.1:7000\"], password: \"${R}\"}}\n" + minimal, env: map[string]string{"R": "s3cret\x1bpassword"}, wantPath: "redis.cluster.password", wantMsg: "holds a control character"},
		{name: "log level", yaml: minimal + "log: {level: verbose}\n", wantPath: "log.level", wantMsg: "debug, info, warn or error"},
		{name: "log format", yaml: minimal + "log: {format: xml}\n", wantPath: "log.format", wantMsg: "json or text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), env(tt.env))
			if err == nil {
				t.Fatalf("Parse succeeded, want %s: %s\n%s", tt.wantPath, tt.wantMsg, tt.yaml)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its error")
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			for _, fe := range fieldErrors(t, err) {
				if fe.Path == tt.wantPath && strings.Contains(fe.Msg, tt.wantMsg) {
					if tt.wantLine != 0 && fe.Line != tt.wantLine {
						t.Errorf("line %d, want %d: %v", fe.Line, tt.wantLine, fe)
					}
					if !strings.HasPrefix(fe.Error(), tt.wantPath) {
						t.Errorf("message %q does not start with the path", fe.Error())
					}
					return
				}
			}
			t.Errorf("no error at %q containing %q in:\n%v", tt.wantPath, tt.wantMsg, err)
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	yaml := `
redis: {url: "ftp://x"}
graph: {version: "1", timeout: 0s}
pages:
  - id: a
    access_token: t
    schedule: x
  - id: "2"
    acess_token: t
worker: {concurrency: 0}
log: {level: loud}
`
	_, err := Parse([]byte(yaml), env(nil))
	want := []string{
		"redis.url", "graph.version", "graph.timeout", "pages[0].id", "pages[0].schedule",
		"pages[1].access_token", "pages[1].acess_token", "worker.concurrency", "log.level",
	}
	var got []string
	prevLine := 0
	for _, fe := range fieldErrors(t, err) {
		got = append(got, fe.Path)
		if fe.Line < prevLine {
			t.Errorf("errors not in file order: %v after line %d", fe, prevLine)
		}
		prevLine = fe.Line
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("paths:\n got %q\nwant %q\nerror:\n%v", got, want, err)
	}
	if !strings.HasPrefix(err.Error(), fmt.Sprintf("%d problems:\n  redis.url: ", len(want))) {
		t.Errorf("message:\n%v", err)
	}
}

func TestDecodeErrorNotRepeated(t *testing.T) {
	_, err := Parse([]byte("pages:\n  - id: \"1\"\n    access_token: ${NOPE}\n"), env(nil))
	fes := fieldErrors(t, err)
	if len(fes) != 1 || !strings.Contains(fes[0].Msg, "NOPE is not set") {
		t.Errorf("want only the unset variable, got:\n%v", err)
	}
}

func TestAliasBomb(t *testing.T) {
	// 200 Pages aliasing 1,000 rules each: 200,000 rules to decode from a
	// small file. Decoding must stop, not grind.
	yaml := "pages:\n  - id: \"1\"\n    access_token: t\n    rules: &r [" + strings.Repeat("{match: a, text: b},", 1000) + "]\n"
	for i := 1; i < 200; i++ {
		yaml += fmt.Sprintf("  - {id: \"%d\", access_token: t, rules: *r}\n", i+1)
	}
	done := make(chan error, 1)
	go func() { _, err := Parse([]byte(yaml), env(nil)); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("want a too large error, got %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Parse did not stop")
	}
}

// A file one value past the decoding budget is refused: the value past it
// is not decoded, and must not be dropped without a word.
func TestDecodeBudgetEdge(t *testing.T) {
	// The root, pages, the Page, its id and token, api and tokens: 7
	// values before the tokens.
	file := func(tokens int) string {
		return minimal + "api: {tokens: [" + strings.Repeat("a,", tokens) + "]}\n"
	}
	if _, err := Parse([]byte(file(maxDecodeNodes-7)), env(nil)); err != nil {
		t.Errorf("a file of %d values: %v", maxDecodeNodes, err)
	}
	if _, err := Parse([]byte(file(maxDecodeNodes-6)), env(nil)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("a file of %d values: %v, want a too large error", maxDecodeNodes+1, err)
	}
}

func TestExpand(t *testing.T) {
	vars := env(map[string]string{"A": "alpha", "B_2": "", "DOLLAR": "$x${A}"})
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "plain", in: "no vars", want: "no vars"},
		{name: "one", in: "${A}", want: "alpha"},
		{name: "inside", in: "x${A}y${A}", want: "xalphayalpha"},
		{name: "empty value", in: "[${B_2}]", want: "[]"},
		{name: "escape", in: "$${A}", want: "${A}"},
		{name: "double escape", in: "$$$$", want: "$$"},
		{name: "lone dollar", in: "price$ and $A", want: "price$ and $A"},
		{name: "trailing dollar", in: "x$", want: "x$"},
		{name: "no recursion", in: "${DOLLAR}", want: "$x${A}"},
		{name: "unset", in: "${NOPE}", wantErr: "environment variable NOPE is not set"},
		{name: "unterminated", in: "${A", wantErr: "unterminated"},
		{name: "bad name", in: "${A-B}", wantErr: "invalid variable name"},
		{name: "digit first", in: "${9}", wantErr: "invalid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := expand(tt.in, vars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("expand(%q) error %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// secretVars are distinctive secret values; none may appear in an error.
var secretVars = map[string]string{
	"PAGE_TOKEN":      "EAAG-page-token-SECRET-1",
	"PAGE_TOKEN_2":    "EAAG-page-token-SECRET-2",
	"FB_APP_SECRET":   "app-secret-SECRET-3",
	"FB_VERIFY_TOKEN": "verify-token-SECRET-4",
	"API_TOKEN":       "api-token-SECRET-5",
	"REDIS_PASSWORD":  "redis-password-SECRET-6",
	"SENTINEL_PW":     "snt-pw-SECRET-7-xyz",
}

func TestSecretsNeverInErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
	}{
		{name: "secret in an int", yaml: minimal + "worker: {concurrency: \"${PAGE_TOKEN}\"}\n"},
		{name: "secret in a bool", yaml: minimal + "api: {monitor: \"${API_TOKEN}\"}\n"},
		{name: "secret in a duration", yaml: minimal + "graph: {timeout: \"${FB_APP_SECRET}\"}\n"},
		{name: "secret in a rate", yaml: withPage("rate: \"${PAGE_TOKEN}\"", "")},
		{name: "secret in a redis url", yaml: minimal + "redis: {url: \"redis://:${REDIS_PASSWORD}@h:bad/x\"}\n"},
		{name: "secret as a redis url", yaml: minimal + "redis: {url: \"${REDIS_PASSWORD}\"}\n"},
		{name: "secret in the scheme", yaml: minimal + "redis: {url: \"${REDIS_PASSWORD}://h\"}\n"},
		{name: "redis url unparsable", yaml: minimal + "redis: {url: \"redis://:${REDIS_PASSWORD}@h:6379/%zz\"}\n"},
		{name: "secret in base_url", yaml: minimal + "graph: {base_url: \"https://${FB_APP_SECRET}:x@h/%zz\"}\n"},
		{name: "secret as a page id", yaml: "pages:\n  - {id: \"${PAGE_TOKEN}\", access_token: \"${PAGE_TOKEN_2}\"}\n"},
		{name: "secret as a level", yaml: minimal + "log: {level: \"${API_TOKEN}\"}\n"},
		{name: "secret as a kind", yaml: withPage("reply_to: [\"${PAGE_TOKEN}\"]", "")},
		{name: "secret as an addr", yaml: minimal + "api: {addr: \"${API_TOKEN}\"}\n"},
		{name: "secret as a sentinel addr", yaml: minimal + "redis: {sentinel: {master: m, addrs: [\"${SENTINEL_PW}\"]}}\n"},
		{name: "secret as a schedule", yaml: withPage("schedule: \"${PAGE_TOKEN}\"", "")},
		{name: "secret as a version", yaml: minimal + "graph: {version: \"${FB_APP_SECRET}\"}\n"},
		{name: "secret as a template", yaml: withPage("default_text: \"{{${PAGE_TOKEN}}}\"", "")},
		{name: "secret as a regexp", yaml: withPage("rules: [{match: \"(${PAGE_TOKEN}\", text: x}]", "")},
		{name: "secrets with white space at an end", yaml: "graph: {app_secret: \"${FB_APP_SECRET}\\n\"}\n" +
			"pages:\n  - {id: \"1\", access_token: \" ${PAGE_TOKEN}\"}\n  - {id: \"2\", access_token: \"${PAGE_TOKEN_2}\\u0007\"}\n" +
			"webhook: {verify_token: \"${FB_VERIFY_TOKEN}\\r\\n\"}\napi: {tokens: [\"${API_TOKEN}\\t\"]}\n"},
		{
			name: "every secret set, many problems",
			yaml: `
redis:
  url: "redis://:${REDIS_PASSWORD}@h:6379/0"
  sentinel: {master: m, addrs: [], password: "${REDIS_PASSWORD}", sentinel_password: "${SENTINEL_PW}"}
graph: {app_secret: "${FB_APP_SECRET}", version: x}
pages:
  - {id: "1", access_token: "${PAGE_TOKEN}", schedule: x}
  - {id: "1", access_token: "${PAGE_TOKEN_2}", rate: 0/s}
webhook: {verify_token: "${FB_VERIFY_TOKEN}"}
api: {tokens: ["${API_TOKEN}", ""], addr: x}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(secretVars))
			if err == nil {
				t.Fatalf("Parse succeeded:\n%s", tt.yaml)
			}
			for _, s := range secretVars {
				// Pieces too: yaml and url errors like to quote a prefix.
				for _, piece := range []string{s, s[:8], s[len(s)-8:]} {
					if strings.Contains(err.Error(), piece) {
						t.Errorf("error contains secret piece %q:\n%v", piece, err)
					}
				}
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	yaml := `
redis:
  sentinel: {master: m, addrs: ["h:1"], password: "${REDIS_PASSWORD}", sentinel_password: "${SENTINEL_PW}"}
graph: {app_secret: "${FB_APP_SECRET}"}
pages:
  - {id: "1", access_token: "${PAGE_TOKEN}"}
  - {id: "2", access_token: "${PAGE_TOKEN_2}"}
  - {id: "3", access_token: "${PAGE_TOKEN}"}
webhook: {verify_token: "${FB_VERIFY_TOKEN}"}
api: {tokens: ["${API_TOKEN}"]}
`
	c := mustParse(t, yaml, secretVars)
	got := c.Secrets()
	if len(got) != len(secretVars) {
		t.Errorf("Secrets() = %q, want %d distinct values", got, len(secretVars))
	}
	for k, s := range secretVars {
		if !contains(got, s) {
			t.Errorf("Secrets() misses %s", k)
		}
	}

	c = mustParse(t, minimal+"redis: {url: \"redis://user:${REDIS_PASSWORD}@h:6379/0\"}\n", secretVars)
	if got := c.Secrets(); !contains(got, secretVars["REDIS_PASSWORD"]) || !contains(got, "tok") {
		t.Errorf("Secrets() = %q, want the URL's password and the token", got)
	}
	c = mustParse(t, minimal+"redis: {cluster: {addrs: [\"h:1\"], password: \"${REDIS_PASSWORD}\"}}\n", secretVars)
	if got := c.Secrets(); !contains(got, secretVars["REDIS_PASSWORD"]) {
		t.Errorf("Secrets() = %q, want the cluster password", got)
	}
	// A URL that does not parse (a Config built in code; Parse refuses
	// it) may hold its password anywhere: the whole URL is the secret.
	bad := "redis://:" + secretVars["REDIS_PASSWORD"] + "%zz@h:6379/0"
	if got := (&Config{Redis: Redis{URL: bad}}).Secrets(); !contains(got, bad) {
		t.Errorf("Secrets() = %q, want the unparsable URL whole", got)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestStringsHideSecrets(t *testing.T) {
	yaml := `
redis: {url: "rediss://user:${REDIS_PASSWORD}@h:6379/0"}
graph: {app_secret: "${FB_APP_SECRET}"}
pages:
  - {id: "1", access_token: "${PAGE_TOKEN}"}
webhook: {verify_token: "${FB_VERIFY_TOKEN}"}
api: {tokens: ["${API_TOKEN}"]}
`
	c := mustParse(t, yaml, secretVars)
	c.Redis.Sentinel = &Sentinel{Master: "m", Addrs: []string{"h:1"}, Password: secretVars["REDIS_PASSWORD"], SentinelPassword: secretVars["SENTINEL_PW"]}
	c.Redis.Cluster = &Cluster{Addrs: []string{"h:2"}, Password: secretVars["REDIS_PASSWORD"]}
	out := fmt.Sprintf("%v|%+v|%s|%v|%v|%s|%s", c, *c, c.Redis.Describe(), c.Pages, c.Pages[0], c.Redis.Sentinel, c.Redis.Cluster)
	for k, s := range secretVars {
		if strings.Contains(out, s) {
			t.Errorf("%s shows in %s", k, out)
		}
	}
	if !strings.Contains(out, "page 1") || !strings.Contains(out, "sentinel master m at h:1") {
		t.Errorf("descriptions lost their content: %s", out)
	}
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		r    Redis
		want string
	}{
		{name: "url", r: Redis{URL: "redis://127.0.0.1:6379/0"}, want: "redis://127.0.0.1:6379/0"},
		{name: "password", r: Redis{URL: "rediss://:hunter2@h:6380/1"}, want: "rediss://h:6380/1"},
		{name: "user and password", r: Redis{URL: "redis://bob:hunter2@h:6379"}, want: "redis://bob@h:6379"},
		// A password written where the user name goes: not shown.
		{name: "password as the user name", r: Redis{URL: "redis://hunter2@h:6379/0"}, want: "redis://***@h:6379/0"},
		{name: "query dropped", r: Redis{URL: "redis://h:6379/0?dial_timeout=3s"}, want: "redis://h:6379/0"},
		{name: "invalid", r: Redis{URL: "redis://:hunter2@h:6379/%zz"}, want: "redis (invalid url)"},
		// A # in the password: the host would be the password's head.
		{name: "password with a #", r: Redis{URL: "redis://default:4821#kP9zQ@redis:6379/0"}, want: "redis (invalid url)"},
		{name: "sentinel", r: Redis{Sentinel: &Sentinel{Master: "m", Addrs: []string{"a:1", "b:2"}, Password: "hunter2", DB: 2}, TLS: true}, want: "sentinel master m at a:1,b:2 db 2 (tls)"},
		{name: "cluster", r: Redis{Cluster: &Cluster{Addrs: []string{"a:1"}, Password: "hunter2"}}, want: "cluster at a:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Describe(); got != tt.want {
				t.Errorf("Describe() = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUpHint: the question a Redis error ends with asks about TLS whenever
// pagereply speaks it (a plain Redis never answers a handshake: the error is
// a bare timeout), and never shows a password.
func TestUpHint(t *testing.T) {
	for _, tt := range []struct {
		name string
		r    Redis
		tls  bool
	}{
		{name: "plain url", r: Redis{URL: "redis://:hunter2@h:6379/0"}},
		{name: "rediss url", r: Redis{URL: "rediss://:hunter2@h:6380/1"}, tls: true},
		{name: "rediss in capitals", r: Redis{URL: "REDISS://h:6380"}, tls: true},
		{name: "sentinel with tls", r: Redis{Sentinel: &Sentinel{Master: "m", Addrs: []string{"a:1"}, Password: "hunter2"}, TLS: true}, tls: true},
		{name: "cluster without tls", r: Redis{Cluster: &Cluster{Addrs: []string{"a:1"}, Password: "hunter2"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.r.UpHint()
			if tt.r.UsesTLS() != tt.tls || strings.Contains(h, "speak TLS") != tt.tls {
				t.Errorf("UsesTLS() = %v, UpHint() = %q; want TLS %v", tt.r.UsesTLS(), h, tt.tls)
			}
			if !strings.Contains(h, tt.r.Describe()) || strings.Contains(h, "hunter2") {
				t.Errorf("UpHint() = %q: want %q in it and no password", h, tt.r.Describe())
			}
		})
	}
}

func TestPageAndReplies(t *testing.T) {
	c := mustParse(t, minimal+"  - {id: \"456\", access_token: t2, reply_to: [posts, conversations]}\n", nil)
	p, ok := c.Page("456")
	if !ok || p.AccessToken != "t2" {
		t.Fatalf("Page(456) = %v, %v", p, ok)
	}
	if p != &c.Pages[1] {
		t.Errorf("Page does not point into the config")
	}
	if _, ok := c.Page("789"); ok {
		t.Errorf("Page(789) found")
	}
	tests := []struct {
		name string
		kind string
		want bool
	}{
		{name: "comments", kind: ReplyComments, want: false},
		{name: "posts", kind: ReplyPosts, want: true},
		{name: "conversations", kind: ReplyConversations, want: true},
		{name: "unknown", kind: "likes", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Replies(tt.kind); got != tt.want {
				t.Errorf("Replies(%q) = %v", tt.kind, got)
			}
		})
	}
}

func TestValidateBuiltInCode(t *testing.T) {
	c := defaultConfig()
	c.Redis.URL = DefaultRedisURL
	c.Pages = []Page{defaultPage()}
	c.Pages[0].ID, c.Pages[0].AccessToken = "1", "t"
	c.Pages[0].Rules = []Rule{{Match: "a", Text: "{{.Name}}"}}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if c.Pages[0].Rules[0].re == nil || c.Pages[0].Rules[0].tmpl == nil {
		t.Errorf("Validate did not compile the rule")
	}
	// Parse trims base_url's trailing /, and never gives a zero period;
	// Validate, on a Config built in code, sees them as they are.
	c.Pages[0].Rate = Rate{N: 10}
	c.Worker.Concurrency = 0
	c.Graph.BaseURL = DefaultGraphBaseURL + "/" + DefaultGraphVersion + "/"
	err := c.Validate()
	var fe *FieldError
	if !errors.As(err, &fe) || len(fieldErrors(t, err)) != 3 {
		t.Errorf("Validate = %v, want 3 FieldErrors", err)
	}
}

func TestLoad(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load = %v, want ErrNotExist", err)
		}
	})
	t.Run("names the file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(path, []byte(withPage("schedule: x", "")), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(path)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "pages[0].schedule" || !strings.HasPrefix(err.Error(), "config "+path+": pages[0].schedule: ") {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("environment", func(t *testing.T) {
		t.Setenv("PAGEREPLY_TEST_TOKEN", "from-env")
		path := filepath.Join(t.TempDir(), "ok.yaml")
		if err := os.WriteFile(path, []byte("pages: [{id: \"1\", access_token: \"${PAGEREPLY_TEST_TOKEN}\"}]"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil || c.Pages[0].AccessToken != "from-env" {
			t.Errorf("Load = %v, %v", c, err)
		}
	})
}

func TestExampleFile(t *testing.T) {
	for k, v := range map[string]string{
		"FB_APP_SECRET":       "app-secret",
		"PAGE_TOKEN":          "page-token",
		"FB_VERIFY_TOKEN":     "verify-token",
		"PAGEREPLY_API_TOKEN": "api-token",
	} {
		t.Setenv(k, v)
	}
	c, err := Load("../pagereply.example.yaml")
	if err != nil {
		t.Fatalf("Load example: %v", err)
	}
	p, ok := c.Page("1983306698425200")
	if !ok {
		t.Fatal("example Page missing")
	}
	if p.AccessToken != "page-token" || c.Graph.AppSecret != "app-secret" || c.Webhook.VerifyToken != "verify-token" || c.API.Tokens[0] != "api-token" {
		t.Errorf("secrets not expanded: %v", c.Secrets())
	}
	text, ok, err := p.Render(TemplateData{Name: "Ann Lee", Message: "What does it cost?"})
	if err != nil || !ok || text != "Hi Ann, prices are on our site." {
		t.Errorf("Render = %q, %v, %v", text, ok, err)
	}
}

// TestExampleFileDefaults holds the example file to what it says: every
// value in it is the default, what leaving the key out gives, unless the
// comment of its line starts with "example:".
func TestExampleFileDefaults(t *testing.T) {
	data, err := os.ReadFile("../pagereply.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"FB_APP_SECRET": "s", "PAGE_TOKEN": "t", "FB_VERIFY_TOKEN": "v", "PAGEREPLY_API_TOKEN": "a"}
	example := mustParse(t, string(data), vars)
	defaults := mustParse(t, "pages: [{id: \"1\", access_token: x}]\n", nil)
	root, ferr := decodeYAML(data)
	if ferr != nil {
		t.Fatal(ferr)
	}
	isExample := func(n *yaml.Node) bool {
		c := strings.TrimSpace(strings.TrimPrefix(n.LineComment, "#"))
		return strings.HasPrefix(c, "example:")
	}
	checked := 0
	var walk func(n *yaml.Node, ex, def reflect.Value, path string)
	walk = func(n *yaml.Node, ex, def reflect.Value, path string) {
		for ex.Kind() == reflect.Pointer {
			ex, def = ex.Elem(), def.Elem()
		}
		switch {
		case n.Kind == yaml.MappingNode && ex.Kind() == reflect.Struct && ex.Type() != rateType:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if isExample(k) || isExample(v) {
					continue
				}
				f, ok := fieldByKey(ex.Type(), k.Value)
				if !ok {
					t.Fatalf("%s.%s: not a key", path, k.Value)
				}
				walk(v, ex.FieldByIndex(f.Index), def.FieldByIndex(f.Index), strings.TrimPrefix(path+"."+k.Value, "."))
			}
		case n.Kind == yaml.SequenceNode && ex.Type().Elem() == pageType:
			for i, c := range n.Content {
				walk(c, ex.Index(i), def.Index(0), fmt.Sprintf("%s[%d]", path, i))
			}
		default:
			checked++
			if !reflect.DeepEqual(ex.Interface(), def.Interface()) {
				t.Errorf("%s (line %d): the example file shows %v, but the default is %v; make it the default, or start its comment with \"example:\"",
					path, n.Line, ex.Interface(), def.Interface())
			}
		}
	}
	walk(root.Content[0], reflect.ValueOf(example).Elem(), reflect.ValueOf(defaults).Elem(), "")
	if checked < 15 {
		t.Errorf("only %d values checked", checked)
	}
}

func TestEnvValuesHiddenFromValidation(t *testing.T) {
	vars := map[string]string{"V": "alphaSECRET betaSECRET", "IP": "256.10.1.1"}
	tests := []struct {
		name    string
		yaml    string
		wantMsg string
	}{
		{name: "api.addr", yaml: minimal + "api: {addr: \"${V}\"}\n", wantMsg: "api.addr: is not host:port"},
		// CheckHostPort quotes a host that is not an IP address.
		{name: "api.addr host", yaml: minimal + "api: {addr: \"${IP}:8080\"}\n", wantMsg: "api.addr: has \"${IP}\", which is not an IP address"},
		{name: "schedule", yaml: withPage("schedule: \"${V}\"", ""), wantMsg: "has 2 fields, not 5"},
		{name: "template", yaml: withPage("default_text: \"{{${V}}}\"", ""), wantMsg: "calls a function that does not exist"},
		{name: "decoding names the variable", yaml: minimal + "worker: {max_retry: \"${V}\"}\n", wantMsg: "the value of ${V} is not an integer"},
		{name: "decoding shows no text around the variable", yaml: minimal + "worker: {max_retry: \"alpha-${V}\"}\n", wantMsg: "the value of ${V} is not an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), env(vars))
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %v, want %q", err, tt.wantMsg)
			}
			if err != nil && (strings.Contains(err.Error(), "alpha") || strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "256.10")) {
				t.Errorf("error shows the value: %v", err)
			}
		})
	}
}

func TestSlogLevel(t *testing.T) {
	tests := []struct {
		name  string
		level string
		want  string
	}{
		{name: "debug", level: "debug", want: "DEBUG"},
		{name: "info", level: "info", want: "INFO"},
		{name: "warn", level: "WARN", want: "WARN"},
		{name: "error", level: "error", want: "ERROR"},
		{name: "unset", level: "", want: "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Log{Level: tt.level}).SlogLevel().String(); got != tt.want {
				t.Errorf("SlogLevel() = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestScheduleInsideWindow: schedules that come round within the reply
// window load, and so does a slow one when the webhook finds the replies
// (comments and posts: it brings no Messenger messages).
func TestScheduleInsideWindow(t *testing.T) {
	for _, yaml := range []string{
		withPage("schedule: \"@daily\"", ""),
		withPage("schedule: \"0 9 * * 1-5\"", ""),
		withPage("schedule: \"@every 23h\"\nreply_to: [conversations]", ""),
		withPage("schedule: \"@every 200h\"\nreply_to: [comments, posts]", "graph: {app_secret: s}\nwebhook: {verify_token: v}\n"),
		withPage("schedule: \"@every 23h\"\nreply_to: [comments, conversations]", "graph: {app_secret: s}\nwebhook: {verify_token: v}\n"),
	} {
		if _, err := Parse([]byte(yaml), env(nil)); err != nil {
			t.Errorf("%s: %v", yaml, err)
		}
	}
}

// TestPlaceholderSecrets: the deploy examples' FAKE- secrets are public, so a
// config that still holds one is refused, each naming its key and never the
// value: an API token left at one would let anyone send replies as the Page.
func TestPlaceholderSecrets(t *testing.T) {
	yaml := `
graph:
  app_secret: ${FB_APP_SECRET}
pages:
  - id: "123"
    access_token: ${PAGE_TOKEN}
webhook:
  verify_token: ${FB_VERIFY_TOKEN}
api:
  tokens: ["${PAGEREPLY_API_TOKEN}", "a-real-token-of-our-own-0123456789"]
`
	fake := map[string]string{
		"FB_APP_SECRET": "FAKE-app-secret-replace-me", "PAGE_TOKEN": "FAKE-page-access-token-replace-me",
		"FB_VERIFY_TOKEN": "FAKE-verify-token-replace-me", "PAGEREPLY_API_TOKEN": "FAKE-api-token-0000000000000000",
	}
	_, err := Parse([]byte(yaml), env(fake))
	got := map[string]bool{}
	for _, fe := range fieldErrors(t, err) {
		got[fe.Path] = true
		if !strings.Contains(fe.Msg, "example's dummy value") {
			t.Errorf("%s: %q, want it named an example's dummy value", fe.Path, fe.Msg)
		}
	}
	for _, path := range []string{"graph.app_secret", "pages[0].access_token", "webhook.verify_token", "api.tokens[0]"} {
		if !got[path] {
			t.Errorf("no error for %s (got %v)", path, err)
		}
	}
	if len(got) != 4 {
		t.Errorf("errors for %v, want the 4 placeholders only", got)
	}
	for _, v := range fake {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error shows the secret's value %q: %v", v, err)
		}
	}
	own := map[string]string{}
	for k := range fake {
		own[k] = "own-" + strings.ToLower(k) + "-0123456789abcdef"
	}
	mustParse(t, yaml, own)
	// Redis passwords: in redis.url (as the Kubernetes example's REDIS_URL
	// has one), and Sentinel's and Cluster's.
	for _, tc := range []struct{ yaml, path string }{
		{"redis: {url: \"${REDIS_URL}\"}\n", "redis.url"},
		{"redis: {sentinel: {master: m, addrs: [\"h:1\"], password: \"${PW}\"}}\n", "redis.sentinel.password"},
		{"redis: {sentinel: {master: m, addrs: [\"h:1\"], sentinel_password: \"${PW}\"}}\n", "redis.sentinel.sentinel_password"},
		{"redis: {cluster: {addrs: [\"h:1\"], password: \"${PW}\"}}\n", "redis.cluster.password"},
	} {
		vars := map[string]string{"REDIS_URL": "redis://:FAKE-redis-password@redis:6379/0", "PW": "FAKE-redis-password"}
		_, err := Parse([]byte(minimal+tc.yaml), env(vars))
		fes := fieldErrors(t, err)
		if len(fes) != 1 || fes[0].Path != tc.path || strings.Contains(err.Error(), "FAKE-redis") {
			t.Errorf("%s: %v, want one error for %s without the value", tc.path, err, tc.path)
		}
	}
}

// TestEnvValueSharingWords: a value from the environment that shares words
// or letters with the message's own (public) words changes nothing in it:
// the operator still learns what is wrong, and the message tells nothing of
// what the value holds.
func TestEnvValueSharingWords(t *testing.T) {
	msg := func(v string) string {
		t.Helper()
		_, err := Parse([]byte(minimal+"webhook: {verify_token: \"${FB_VERIFY_TOKEN}\"}\n"), env(map[string]string{"FB_VERIFY_TOKEN": v}))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "webhook.verify_token" {
			t.Fatalf("%q: %v, want a webhook.verify_token error", v, err)
		}
		return fe.Msg
	}
	base := msg("zq7XkP2mW9rT4vB8")
	if !strings.Contains(base, "graph.app_secret") {
		t.Fatalf("message %q does not say what is wrong", base)
	}
	for _, v := range []string{"verify-me-please", "webhook", "Meta", "pagereply-webhook", "signatures-2024"} {
		if got := msg(v); got != base {
			t.Errorf("token %q: error reads %q, not %q: it tells what the token holds", v, got, base)
		}
	}
}

// TestSecretsInFile: the secrets written in the file itself, not taken from
// the environment with ${VAR}, are named by their key paths in the file's
// order; a redis.url counts only when it writes a password.
func TestSecretsInFile(t *testing.T) {
	env := map[string]string{"TOK": "from-env-token-1234", "API": "from-env-api-token-123456", "PW": "pw"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"all from the environment", `
redis: {url: "redis://:${PW}@127.0.0.1:6379/0"}
pages:
  - {id: "1", access_token: "${TOK}"}
api: {tokens: ["${API}"]}
`, nil},
		{"some in the file", `
redis: {url: "redis://:hunter2@127.0.0.1:6379/0"}
graph: {app_secret: "literal-app-secret"}
pages:
  - {id: "1", access_token: "literal-page-token"}
  - {id: "2", access_token: "${TOK}"}
api: {tokens: ["literal-api-token-1234567", "${API}"]}
`, []string{"redis.url", "graph.app_secret", "pages[0].access_token", "api.tokens[0]"}},
		{"empty values are no secrets", `
graph: {app_secret: ""}
webhook: {verify_token: ''}
pages:
  - {id: "1", access_token: "${TOK}"}
`, nil},
		{"a URL without a password", `
redis: {url: "redis://127.0.0.1:6379/0"}
pages:
  - {id: "1", access_token: "${TOK}"}
`, nil},
		{"sentinel passwords", `
redis: {sentinel: {master: m, addrs: ["h:26379"], password: "p1", sentinel_password: "${PW}"}}
pages:
  - {id: "1", access_token: "${TOK}"}
`, []string{"redis.sentinel.password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.yaml), lookup)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.SecretsInFile(); !slices.Equal(got, tc.want) {
				t.Errorf("SecretsInFile() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSecretInReplyText: a reply text that holds a secret, most likely a
// ${VAR} meant for the access_token written into the text, is refused naming
// the text's key and the secret's, never the value: every reply would send it
// to the person answered. A short secret found in ordinary words is not.
func TestSecretInReplyText(t *testing.T) {
	yaml := `
graph: {app_secret: "${FB_APP_SECRET}"}
pages:
  - id: "1"
    access_token: ${PAGE_TOKEN}
    rules:
      - {match: "price", text: "Hi {{.FirstName}}, prices: ${PAGE_TOKEN}"}
      - {match: "hours", text: "Open 9 to 5"}
    default_text: "Thanks! ${API_TOKEN}"
  - id: "2"
    access_token: ${PAGE_TOKEN_2}
    default_text: "Thanks, app-secret-SECRET-3 here"
    rules: [{match: "code", text: "Your code: pw-8char"}]
api: {tokens: ["${API_TOKEN}"]}
webhook: {verify_token: "Thanks"}
redis: {url: "redis://:pw-8char@127.0.0.1:6379/0"}
`
	_, err := Parse([]byte(yaml), env(secretVars))
	got := map[string]string{}
	for _, fe := range fieldErrors(t, err) {
		got[fe.Path] = fe.Msg
	}
	want := map[string]string{
		"pages[0].rules[0].text": "pages[0].access_token",
		"pages[0].default_text":  "api.tokens[0]",
		"pages[1].default_text":  "graph.app_secret",
		// minSecretInText characters: long enough to be taken for it
		"pages[1].rules[0].text": "redis.url",
	}
	for path, secret := range want {
		if !strings.Contains(got[path], "holds the value of "+secret) {
			t.Errorf("%s: %q, want it said it holds the value of %s", path, got[path], secret)
		}
	}
	if len(got) != len(want) {
		t.Errorf("errors for %v, want %d (the short verify token \"Thanks\" in a text is not one)", got, len(want))
	}
	for _, v := range secretVars {
		if strings.Contains(err.Error(), v) {
			t.Errorf("error shows the secret's value %q: %v", v, err)
		}
	}
}

// A variable that is set but empty (PAGE_TOKEN= in an env file, an empty
// Secret key) is named in the errors of its key, or of the section it is
// under: "access_token: required" or "redis: set one of url, ..." alone send
// the user to a file that plainly has the key.
func TestEmptyVariableNamed(t *testing.T) {
	yaml := `
redis:
  url: ${REDIS_URL}
pages:
  - id: "123"
    access_token: ${PAGE_TOKEN}
api:
  tokens: ["${API_TOKEN}"]
`
	_, err := Parse([]byte(yaml), env(map[string]string{"REDIS_URL": "", "PAGE_TOKEN": "", "API_TOKEN": ""}))
	if err == nil {
		t.Fatal("Parse succeeded with every secret empty")
	}
	want := map[string]string{
		"redis":                 "${REDIS_URL} is set but empty",
		"pages[0].access_token": "${PAGE_TOKEN} is set but empty",
		"api.tokens[0]":         "${API_TOKEN} is set but empty",
	}
	for _, fe := range fieldErrors(t, err) {
		if w, ok := want[fe.Path]; ok {
			if !strings.Contains(fe.Msg, w) {
				t.Errorf("%s: %q does not say %q", fe.Path, fe.Msg, w)
			}
			delete(want, fe.Path)
		}
	}
	for p := range want {
		t.Errorf("no error at %s in:\n%v", p, err)
	}

	// A variable with a value is not called empty.
	_, err = Parse([]byte(yaml), env(map[string]string{"REDIS_URL": "", "PAGE_TOKEN": "tok", "API_TOKEN": "0123456789abcdef0"}))
	if err == nil || strings.Contains(err.Error(), "PAGE_TOKEN") || strings.Contains(err.Error(), "API_TOKEN") {
		t.Errorf("error names a variable that has a value: %v", err)
	}
}

// TestParseScheduleTrimmed: white space around a schedule is not a way past
// its checks: " @every 0s " is refused as "@every 0s" is.
func TestParseScheduleTrimmed(t *testing.T) {
	if _, err := ParseSchedule(" @every 0s "); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Fatalf("ParseSchedule(\" @every 0s \") = %v, want the positive-duration error", err)
	}
	if s, err := ParseSchedule("  @every 1m\n"); err != nil || s == nil {
		t.Fatalf("ParseSchedule with spaces around = %v", err)
	}
}
