package config

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Defaults and limits of the configuration.
const (
	DefaultRedisURL     = "redis://127.0.0.1:6379/0"
	DefaultGraphBaseURL = "https://graph.facebook.com"
	DefaultGraphVersion = "v25.0"
	DefaultGraphTimeout = 10 * time.Second
	DefaultSchedule     = "@every 1m"
	DefaultBurst        = 1
	DefaultMaxAge       = MaxReplyWindow
	DefaultScanPosts    = 720 * time.Hour
	DefaultPersonGap    = 0 // off: see Page.PersonGap
	DefaultConcurrency  = 20
	DefaultMaxRetry     = 10
	DefaultAPIAddr      = "127.0.0.1:8080"

	// MaxReplyWindow is how long after a comment or post Meta accepts a
	// private reply; Page.MaxAge may only shorten it.
	MaxReplyWindow = 168 * time.Hour

	// MaxPersonGap is the longest person_gap: the gap holds each of a
	// person's replies after the one before, and a longer one would keep a
	// frequent commenter's last replies waiting for days, up to past the
	// reply window.
	MaxPersonGap = time.Hour

	// MaxGraphTimeout is the longest graph.timeout. The timeout sizes more
	// than a call: a worker claims a target for 2 × it + 5 s before its send
	// (a killed worker's claim holds the comment that long), and waits it +
	// 5 s after a send whose answer was lost before asking Graph whether the
	// reply landed. A timeout of hours held a comment for hours, and one near
	// a Duration's limit overflowed the lease. A Graph call still unanswered
	// after a minute is better given up and retried.
	MaxGraphTimeout = time.Minute
)

// DefaultRate is a Page's rate when none is given: 10 sends per second.
var DefaultRate = Rate{N: 10, Per: time.Second}

// FieldError is one problem with the configuration, at one key. Every error
// Load, Parse and Validate return is made of FieldErrors, so a caller can
// recognise a configuration problem with errors.As. Msg never holds a secret,
// a value that came from the environment, nor a value read from the file (a
// secret may be written there, in the wrong key): it names the key and the
// line, and says what form is wanted.
type FieldError struct {
	// Path is the key, like "pages[1].schedule"; empty for a problem with the
	// whole file, such as a YAML syntax error.
	Path string
	// Line is the line in the file, or 0 when unknown (as after Validate).
	Line int
	Msg  string

	// format and args made Msg (validation's problems): a value from the
	// environment can only be in args, so only they are cleaned of one.
	format string
	args   []any

	// unsetVar: the problem is a ${VAR} not set in the environment.
	unsetVar bool
}

func (e *FieldError) Error() string {
	s := e.Msg
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	if e.Line > 0 {
		s += " (line " + strconv.Itoa(e.Line) + ")"
	}
	return s
}

// errorList is several FieldErrors, reported together so a user can fix
// every problem in one go.
type errorList []*FieldError

func (l errorList) Error() string {
	if len(l) == 1 {
		return l[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d problems:", len(l))
	for _, e := range l {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (l errorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// asError returns nil for no problems, the FieldError itself for one, and an
// error that unwraps to all of them for several.
func asError(l []*FieldError) error {
	switch len(l) {
	case 0:
		return nil
	case 1:
		return l[0]
	}
	return errorList(l)
}

// Load reads the YAML file at path and returns it parsed, with ${VAR}
// expanded from the process environment, defaults applied and validated (see
// Parse). A file that cannot be read gives the os error, wrapped, and
// named as every other problem with the file is, "config FILE: " ("config
// /etc/pagereply.yaml: no such file or directory", where it was "config:
// open /etc/pagereply.yaml: no such file or directory").
func Load(path string) (*Config, error) {
	return LoadFor(path, nil)
}

// Parse parses a YAML configuration. Every ${VAR} in a value is replaced by
// the variable's value as given by lookupEnv (os.LookupEnv if nil), and "$$"
// stands for a lone "$"; an unset variable is an error. Keys that are absent
// or null get their defaults, unknown keys are errors, and the result is
// validated. All problems are reported at once, each as a *FieldError naming
// the key.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	return ParseFor(data, lookupEnv, nil)
}

// LoadFor is Load for a caller that uses only some keys (see ParseFor).
func LoadFor(path string, uses func(c *Config, key string) bool) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == path {
			err = pe.Err // the path is said once, first
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	c, err := ParseFor(data, os.LookupEnv, uses)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ParseFor is Parse for a caller that uses only some keys: a ${VAR} not set
// in the environment is an error only at a key for which uses(c, key) is
// true (c is the configuration decoded, its Pages' ids known; key is a path
// like "pages[1].access_token" or "api.tokens[0]"). At any other key the
// variable may be unset: the key keeps its default, and c.Unset() lists it.
// Every other problem is an error as with Parse. A nil uses is Parse: every
// key is used.
func ParseFor(data []byte, lookupEnv func(string) (string, bool), uses func(c *Config, key string) bool) (*Config, error) {
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	c := defaultConfig()
	d := newDecoder(lookupEnv)

	// An empty file gives no root: defaults only, and validation says what
	// is missing.
	root, ferr := decodeYAML(data)
	if ferr != nil {
		return nil, ferr
	}
	if root != nil && len(root.Content) > 0 {
		d.decode(root.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	// Nothing in the file (blank, comments, a lone --- or ~): "at least one
	// page is required" alone would read as a file whose pages are missing.
	empty := root == nil || len(root.Content) == 0 || root.Content[0].ShortTag() == "!!null"

	if _, given := d.lines["redis.url"]; !given && c.Redis.Sentinel == nil && c.Redis.Cluster == nil {
		c.Redis.URL = DefaultRedisURL
	}
	c.Graph.BaseURL = strings.TrimRight(c.Graph.BaseURL, "/")
	c.Log.Level = strings.ToLower(c.Log.Level)
	c.Log.Format = strings.ToLower(c.Log.Format)

	var errs []*FieldError
	for _, e := range d.errs {
		if e.unsetVar {
			if c.unsetPaths == nil {
				c.unsetPaths = map[string]bool{}
			}
			c.unsetPaths[e.Path] = true
		}
	}
	for _, e := range d.errs {
		if e.unsetVar && uses != nil && !uses(c, e.Path) {
			c.unset = append(c.unset, e)
			continue
		}
		errs = append(errs, e)
	}
	for _, e := range c.validate() {
		// A key that could not be decoded has said so already. A secret
		// that is "$NAME" is refused only where the file says $NAME: one
		// written $$NAME, or a variable's value, is the secret itself (a
		// redis.url so is no URL, and is refused all the same).
		if e.format == msgShellVar && e.Path != "redis.url" && !d.shellText[e.Path] {
			continue
		}
		// A redis.url that could not be decoded (its variable unset) has
		// said so: "set one of url, sentinel or cluster" would be a second
		// problem for the same line, and reads as if no url were written.
		if e.Path == "redis" && d.failed["redis.url"] && c.Redis.Sentinel == nil && c.Redis.Cluster == nil {
			continue
		}
		if !d.failed[e.Path] {
			if e.format == msgShellVar && len(d.env[e.Path]) > 0 {
				// A redis.url whose variable holds $NAME (an env file
				// that does not expand one variable in another): hidden,
				// msgShellVar would say "is the text ${R}: only ${…} is
				// taken", which tells nothing of what to fix.
				e.Msg, e.args = "the value of "+envNames(d.env[e.Path])+" is the text $NAME, a variable's name, not a URL: set the variable to the URL itself, like "+DefaultRedisURL, nil
			}
			d.hideEnv(e)
			if names := d.emptyVars(e.Path); names != "" {
				e.Msg += " (" + names + " set but empty)"
			}
			e.Line = d.line(e.Path)
			if empty && e.Path == "pages" {
				e.Msg += ": the file is empty (or holds only comments)"
			}
			errs = append(errs, e)
		}
	}
	slices.SortStableFunc(errs, func(a, b *FieldError) int { return a.Line - b.Line })
	if err := asError(errs); err != nil {
		return nil, err
	}
	c.secretsInFile = d.literalSecrets(c)
	return c, nil
}

// secretPath matches the key paths of secrets.
var secretPath = regexp.MustCompile(`^(pages\[\d+\]\.access_token|graph\.app_secret|webhook\.verify_token|api\.tokens\[\d+\]|redis\.(sentinel\.(sentinel_)?password|cluster\.password))$`)

// literalSecrets returns the paths of secrets given a value in the file with
// no ${VAR} in it, and redis.url when the file writes its password.
func (d *decoder) literalSecrets(c *Config) []string {
	var out []string
	for path := range d.literal {
		if secretPath.MatchString(path) {
			out = append(out, path)
			continue
		}
		if path == "redis.url" {
			if u, err := url.Parse(c.Redis.URL); err == nil && u.User != nil {
				if _, ok := u.User.Password(); ok {
					out = append(out, path)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(d.lines[a]-d.lines[b], strings.Compare(a, b)) })
	return out
}

func defaultConfig() *Config {
	yes, alsoYes, buckets := true, true, true
	return &Config{
		Graph: Graph{
			BaseURL: DefaultGraphBaseURL,
			Version: DefaultGraphVersion,
			Timeout: DefaultGraphTimeout,
		},
		Worker:  Worker{Concurrency: DefaultConcurrency, MaxRetry: DefaultMaxRetry},
		API:     API{Addr: DefaultAPIAddr, Monitor: &yes, MonitorReadOnly: &alsoYes},
		Log:     Log{Level: "info", Format: "json"},
		Metrics: Metrics{PageBuckets: &buckets},
	}
}

func defaultPage() Page {
	return Page{
		Schedule:  DefaultSchedule,
		Rate:      DefaultRate,
		Burst:     DefaultBurst,
		MaxAge:    DefaultMaxAge,
		ScanPosts: DefaultScanPosts,
		PersonGap: DefaultPersonGap,
	}
}

// Page returns the Page with the given id.
func (c *Config) Page(id string) (*Page, bool) {
	for i := range c.Pages {
		if c.Pages[i].ID == id {
			return &c.Pages[i], true
		}
	}
	return nil, false
}

// Replies reports whether the Page replies to kind (ReplyComments,
// ReplyPosts or ReplyConversations). An unset ReplyTo means [comments].
func (p *Page) Replies(kind string) bool {
	if p.ReplyTo == nil {
		return kind == ReplyComments
	}
	return slices.Contains(p.ReplyTo, kind)
}

// Secrets returns every secret value set in the configuration: Page access
// tokens, the app secret, Redis passwords, API tokens and the webhook verify
// token. Logs, errors and payloads must contain none of them.
func (c *Config) Secrets() []string {
	var s []string
	seen := map[string]bool{} // not slices.Contains: 5,000 Pages' tokens are 12 million comparisons
	for _, n := range c.namedSecrets() {
		if !seen[n.value] {
			seen[n.value] = true
			s = append(s, n.value)
		}
	}
	return s
}

// namedSecret is a secret value and the key it is set at.
type namedSecret struct{ path, value string }

// namedSecrets returns every secret value set in the configuration (see
// Secrets), each with its key; a value set at several keys comes once for
// each.
func (c *Config) namedSecrets() []namedSecret {
	var s []namedSecret
	add := func(path, v string) {
		if v != "" {
			s = append(s, namedSecret{path, v})
		}
	}
	for i, p := range c.Pages {
		add("pages["+strconv.Itoa(i)+"].access_token", p.AccessToken)
	}
	add("graph.app_secret", c.Graph.AppSecret)
	if c.Redis.URL != "" {
		u, err := url.Parse(c.Redis.URL)
		switch {
		case err != nil:
			add("redis.url", c.Redis.URL) // cannot tell where the password is
		case u.User != nil:
			pw, _ := u.User.Password()
			add("redis.url", pw)
		}
	}
	if s := c.Redis.Sentinel; s != nil {
		add("redis.sentinel.password", s.Password)
		add("redis.sentinel.sentinel_password", s.SentinelPassword)
	}
	if cl := c.Redis.Cluster; cl != nil {
		add("redis.cluster.password", cl.Password)
	}
	for i, t := range c.API.Tokens {
		add("api.tokens["+strconv.Itoa(i)+"]", t)
	}
	add("webhook.verify_token", c.Webhook.VerifyToken)
	return s
}

// Describe returns a description of r safe for logs: the URL without its
// password or query, or the Sentinel or Cluster addresses.
func (r Redis) Describe() string {
	switch {
	case r.Sentinel != nil:
		return r.Sentinel.String() + tlsSuffix(r.TLS)
	case r.Cluster != nil:
		return r.Cluster.String() + tlsSuffix(r.TLS)
	case r.URL == "":
		return "redis (no url)"
	}
	u, err := url.Parse(r.URL)
	if err != nil || strings.Contains(r.URL, "#") || u.Opaque != "" || u.Host == "" {
		// A # in a password leaves the password's head as the host: not
		// shown (validate refuses such a URL). Nor is a URL without a
		// host: "redis:SECRET@host" (no "//") or a password alone.
		return "redis (invalid url)"
	}
	_, rest, _ := strings.Cut(r.URL, "://")
	if q, at := strings.Index(rest, "?"), strings.LastIndex(rest, "@"); q >= 0 && at > q {
		// An @ after a ?: it may be the query's (?password=p@ss, as other
		// clients take a password), what follows it a password's tail, or
		// the password's own, what comes before its head. Nothing shown.
		return u.Scheme + "://***"
	}
	if end, at := strings.IndexAny(rest, "/?"), strings.LastIndex(rest, "@"); end >= 0 && at > end {
		// An @ after the host ended: a / or ? in the password ended the
		// host ("redis://u:1234/SECRET@host" has host "u:1234", the rest
		// its path), and all before the last @ may be the password. Only
		// what follows it is shown, without its query.
		host, _, _ := strings.Cut(rest[at+1:], "?")
		return u.Scheme + "://***@" + host
	}
	// redis://SECRET@host: a password written where the user name goes
	// (redis://:SECRET@host is meant) is taken for a user name. It may be
	// the password: not shown. So it is with an empty password after it
	// (redis://SECRET:@host), and when the name holds an @ (Go's parser
	// takes all before the last @ for the user part: in
	// redis://u@SECRET:pw@host the "name" is a password's head).
	masked := userWithoutPassword(u)
	if u.User != nil {
		name := u.User.Username()
		u.User = nil
		masked = masked || strings.Contains(name, "@")
		if name != "" && !masked {
			u.User = url.User(name)
		}
	}
	u.RawQuery, u.ForceQuery, u.Fragment = "", false, ""
	if masked {
		return strings.Replace(u.String(), "://", "://***@", 1)
	}
	return u.String()
}

// UserWithoutPassword reports whether redis.url names a user and no password
// (redis://NAME@host), or an empty one (redis://NAME:@host), most often a
// password written where the user name goes: redis://:PASSWORD@host is meant.
func (r Redis) UserWithoutPassword() bool {
	if r.URL == "" {
		return false
	}
	u, err := url.Parse(r.URL)
	return err == nil && userWithoutPassword(u)
}

func userWithoutPassword(u *url.URL) bool {
	if u.User == nil {
		return false
	}
	pw, _ := u.User.Password()
	return u.User.Username() != "" && pw == ""
}

func tlsSuffix(on bool) string {
	if on {
		return " (tls)"
	}
	return ""
}

// String is Describe.
func (r Redis) String() string { return r.Describe() }

// UsesTLS reports whether pagereply speaks TLS to Redis: redis.tls, or a
// rediss:// URL.
func (r Redis) UsesTLS() bool {
	return r.TLS || (r.Sentinel == nil && r.Cluster == nil && strings.HasPrefix(strings.ToLower(r.URL), "rediss://"))
}

// UpHint is the question an error of a Redis that does not answer ends
// with. Over TLS it asks whether the server speaks it: a Redis without TLS
// reads the handshake as a command it waits to see the end of, and never
// answers, so the call ends in a timeout that says nothing of TLS.
func (r Redis) UpHint() string {
	if r.UsesTLS() {
		return "is Redis at " + r.Describe() + " up, and does it speak TLS? rediss:// and redis.tls need a TLS port (a plain one never answers the handshake): use redis:// for a Redis without TLS"
	}
	return "is Redis at " + r.Describe() + " up?"
}

// String describes the Sentinel set-up without its passwords.
func (s Sentinel) String() string {
	return fmt.Sprintf("sentinel master %s at %s db %d", s.Master, strings.Join(s.Addrs, ","), s.DB)
}

// String describes the Cluster without its password.
func (c Cluster) String() string {
	return "cluster at " + strings.Join(c.Addrs, ",")
}

// String describes the Graph settings without the app secret.
func (g Graph) String() string {
	return fmt.Sprintf("graph %s/%s timeout %s app secret %s", g.BaseURL, g.Version, g.Timeout, setOrNot(g.AppSecret != ""))
}

// String describes the Page without its access token.
func (p Page) String() string {
	return fmt.Sprintf("page %s (%s, %s, reply to %s)", p.ID, p.Schedule, p.Rate, strings.Join(p.ReplyTo, ","))
}

// String says whether the webhook is on, without the verify token.
func (w Webhook) String() string {
	return "webhook verify token " + setOrNot(w.VerifyToken != "")
}

// String describes the API settings without the tokens.
func (a API) String() string {
	return fmt.Sprintf("api %s (%d tokens)", a.Addr, len(a.Tokens))
}

func setOrNot(set bool) string {
	if set {
		return "set"
	}
	return "unset"
}

// SlogLevel returns the level as a slog.Level; unknown levels are Info.
func (l Log) SlogLevel() slog.Level {
	switch strings.ToLower(l.Level) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
