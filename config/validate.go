package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode"

	"github.com/robfig/cron/v3"
)

// messagingWindow is Messenger's: a Page may answer a person within 24 hours
// of their last message.
const messagingWindow = 24 * time.Hour

// pollGap returns the longest time between two runs of s, over its next 500
// runs from a fixed time (years of a daily or weekly schedule).
func pollGap(s cron.Schedule) time.Duration {
	at := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)
	var gap time.Duration
	for range 500 {
		next := s.Next(at)
		if next.IsZero() {
			break
		}
		gap = max(gap, next.Sub(at))
		at = next
	}
	if spec, ok := s.(*cron.SpecSchedule); ok {
		gap = max(gap, specGap(spec, time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)))
	}
	return gap
}

// specGap returns the longest time between two runs of s, within a day from
// its hour and minute fields, and between its days over its next 500 days
// of runs from from. The 500 runs pollGap walks can all fall in one day of a
// schedule that polls every minute for hours ("* 8-17 * * 1-5": 600 a day)
// and never reach its night, its weekend or the rest of its month.
func specGap(s *cron.SpecSchedule, from time.Time) time.Duration {
	var offs []int // a day's runs, in minutes after midnight
	for h := range 24 {
		for m := range 60 {
			if s.Hour&(1<<h) != 0 && s.Minute&(1<<m) != 0 {
				offs = append(offs, h*60+m)
			}
		}
	}
	if len(offs) == 0 {
		return 0
	}
	var gap time.Duration
	for i := 1; i < len(offs); i++ {
		gap = max(gap, time.Duration(offs[i]-offs[i-1])*time.Minute)
	}
	last := offs[len(offs)-1]
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	at := from
	for range 500 {
		next := s.Next(at)
		if next.IsZero() {
			break
		}
		// The last run of next's day, and the first of the next day that
		// has runs.
		y, mo, d := next.In(loc).Date()
		end := time.Date(y, mo, d, last/60, last%60, 0, 0, loc)
		after := s.Next(end)
		if after.IsZero() {
			break
		}
		gap = max(gap, after.Sub(end))
		at = end
	}
	return gap
}

// validateScheduleGap reports a schedule whose polls can be further apart than
// a reply window of the Page: a comment (or message) written just after one
// poll would be too old for a reply at the next, and no reply would be sent.
// With the webhook (webhook true) comments and posts also come through it,
// but Messenger messages do not (it takes the feed's changes only): a Page
// that replies to conversations still needs its polls within their window.
func (pg *Page) validateScheduleGap(p *problems, path string, webhook bool) {
	sched, err := ParseSchedule(pg.Schedule)
	if err != nil || pg.MaxAge <= 0 {
		return // reported already
	}
	if webhook && !pg.Replies(ReplyConversations) {
		return
	}
	window, of := min(pg.MaxAge, MaxReplyWindow), "max_age"
	if pg.Replies(ReplyConversations) && window > messagingWindow {
		window, of = messagingWindow, "Messenger's window for conversations"
	}
	if gap := pollGap(sched); gap >= window {
		if webhook {
			p.add(path+".schedule", "polls up to %s apart, not less than the reply window of %s (%s): the webhook brings no Messenger messages, so a message written just after one poll is too old for a reply at the next",
				fmtDur(gap), fmtDur(window), of)
			return
		}
		p.add(path+".schedule", "polls up to %s apart, not less than the reply window of %s (%s): without the webhook, what is written just after one poll is too old for a reply at the next",
			fmtDur(gap), fmtDur(window), of)
	}
}

var (
	pageIDPattern  = regexp.MustCompile(`^[0-9]+$`)
	versionPattern = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)
)

// problems collects FieldErrors.
type problems []*FieldError

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), format: format, args: args})
}

// addFixed adds a problem whose message is fixed text, taken as it is (a %
// in it is no verb): nothing in it came from the value, so there is nothing
// for hideEnv to clean.
func (p *problems) addFixed(path, msg string) {
	*p = append(*p, &FieldError{Path: path, Msg: msg, format: msg})
}

// Validate checks c and compiles its rules and templates for Page.Render.
// Parse calls it; call it on a Config built in code. It reports every
// problem at once, each as a *FieldError; defaults are not applied, so a
// zero Timeout, Rate or Concurrency is an error here.
func (c *Config) Validate() error {
	return asError(c.validate())
}

func (c *Config) validate() []*FieldError {
	var p problems
	c.Redis.validate(&p)
	c.Graph.validate(&p)

	if len(c.Pages) == 0 {
		p.add("pages", "at least one page is required")
	}
	first := map[string]int{}
	shared := &compiled{}
	for i := range c.Pages {
		path := "pages[" + strconv.Itoa(i) + "]"
		pg := &c.Pages[i]
		pg.validate(&p, path, shared)
		// The poll must come round within the reply window of what only it
		// finds: everything without the webhook, conversations with it.
		// A verify_token whose ${VAR} is not set is one the file turns on.
		pg.validateScheduleGap(&p, path, c.Webhook.VerifyToken != "" || c.unsetPaths["webhook.verify_token"])
		if pg.ID == "" {
			continue
		}
		if j, dup := first[pg.ID]; dup {
			// Not the id: an id that is not numeric may be a pasted token.
			p.add(path+".id", "the Page is already pages[%d]; list each Page once", j)
		} else {
			first[pg.ID] = i
		}
	}

	if c.Worker.Concurrency < 1 {
		p.add("worker.concurrency", "must be at least 1")
	}
	if c.Worker.MaxRetry < 0 {
		p.add("worker.max_retry", "must not be negative")
	}
	if c.Webhook.VerifyToken != "" && c.Graph.AppSecret == "" && !c.unsetPaths["graph.app_secret"] {
		p.add("webhook.verify_token", "the webhook needs graph.app_secret to verify Meta's signatures")
	}
	if err := CheckHostPort(c.API.Addr, true); err != nil {
		p.add("api.addr", "%v", err)
	}
	for i, t := range c.API.Tokens {
		if strings.TrimSpace(t) == "" {
			p.add("api.tokens["+strconv.Itoa(i)+"]", "empty token")
		} else if Placeholder(t) {
			p.add("api.tokens["+strconv.Itoa(i)+"]", placeholderMsg)
		} else {
			checkSecretText(&p, "api.tokens["+strconv.Itoa(i)+"]", t, spaceCompared)
		}
	}
	if Placeholder(c.Webhook.VerifyToken) {
		p.add("webhook.verify_token", placeholderMsg)
	} else {
		checkSecretText(&p, "webhook.verify_token", c.Webhook.VerifyToken, spaceCompared)
	}
	// Meta sends the verify token in the handshake's URL, which proxies log
	// and its app dashboard shows: another secret with the same value (one
	// ${VAR} for both) would be shown there too.
	if vt := c.Webhook.VerifyToken; vt != "" {
		for _, s := range c.namedSecrets() {
			if s.path != "webhook.verify_token" && s.value == vt {
				// The key in the message, not in args: the cleaning of
				// args (hideEnv) would take "graph.app_secret" for a piece
				// of a value holding "secr". A key holds no %.
				msg := "is the same as " + s.path + ": Meta sends the verify token in the URL of its handshake (hub.verify_token), which proxies log and Meta's app dashboard shows; give it a value of its own"
				p = append(p, &FieldError{Path: "webhook.verify_token", Msg: msg, format: msg})
				break
			}
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "want debug, info, warn or error")
	}
	secrets := newSecretIndex(c.namedSecrets())
	for i := range c.Pages {
		c.Pages[i].checkTextSecrets(&p, "pages["+strconv.Itoa(i)+"]", secrets)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		p.add("log.format", "want json or text")
	}
	return p
}

func (r *Redis) validate(p *problems) {
	var set []string
	if r.URL != "" {
		set = append(set, "url")
	}
	if r.Sentinel != nil {
		set = append(set, "sentinel")
	}
	if r.Cluster != nil {
		set = append(set, "cluster")
	}
	switch len(set) {
	case 0:
		p.add("redis", "set one of url, sentinel or cluster")
	case 1:
	default:
		p.add("redis", "set exactly one of url, sentinel or cluster, not %s", strings.Join(set, " and "))
	}

	if r.URL != "" {
		// Messages never repeat the URL: it may hold a password. The
		// checks are RedisURLProblem's, which RedisConnOpt (bench's --redis)
		// makes too, so both say the same. $NAME is refused here first:
		// only the loader expands ${NAME}, so its message is the config's.
		if shellVar(r.URL) != "" {
			checkSecretText(p, "redis.url", r.URL, spaceURL)
		} else if err := RedisURLProblem(r.URL); err != nil {
			p.addFixed("redis.url", err.Error())
		}
		if r.TLS {
			p.add("redis.tls", "is for sentinel and cluster; with url, write rediss:// for TLS")
		}
	}
	if s := r.Sentinel; s != nil {
		if s.Master == "" {
			p.add("redis.sentinel.master", "required")
		}
		checkAddrs(p, "redis.sentinel.addrs", s.Addrs)
		if s.DB < 0 {
			p.add("redis.sentinel.db", "must not be negative")
		}
		if Placeholder(s.Password) {
			p.add("redis.sentinel.password", placeholderMsg)
		}
		if Placeholder(s.SentinelPassword) {
			p.add("redis.sentinel.sentinel_password", placeholderMsg)
		}
		checkSecretText(p, "redis.sentinel.password", s.Password, spacePassword)
		checkSecretText(p, "redis.sentinel.sentinel_password", s.SentinelPassword, spacePassword)
	}
	if c := r.Cluster; c != nil {
		checkAddrs(p, "redis.cluster.addrs", c.Addrs)
		if Placeholder(c.Password) {
			p.add("redis.cluster.password", placeholderMsg)
		}
		checkSecretText(p, "redis.cluster.password", c.Password, spacePassword)
	}
	if r.URL != "" {
		// Anyone who reaches a Redis whose password is public can queue
		// replies, which the workers send as the Page.
		if u, err := url.Parse(r.URL); err == nil && u.User != nil {
			if pw, _ := u.User.Password(); Placeholder(pw) {
				p.add("redis.url", placeholderMsg)
			}
		}
	}
}

func checkAddrs(p *problems, path string, addrs []string) {
	if len(addrs) == 0 {
		p.add(path, "at least one host:port is required")
	}
	for i, a := range addrs {
		if err := CheckHostPort(a, false); err != nil {
			p.add(path+"["+strconv.Itoa(i)+"]", "%v", err)
		}
	}
}

// CheckHostPort checks a host:port address; an empty host (all interfaces)
// is allowed only for a listening address. Its errors do not quote addr: a
// token pasted into the wrong key would be. The commands check their
// address flags with it too, so that a flag is refused as its config key is.
func CheckHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not host:port, like 127.0.0.1:8080")
	}
	if host == "" && !listen {
		return errors.New("has no host; write host:port, like redis-1:6379")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return errors.New("has no valid port; write host:port with a port number up to 65535")
	}
	if strings.Trim(host, "0123456789.") == "" && host != "" && net.ParseIP(host) == nil {
		// Digits and dots only, as an IPv4 address is: one that does not
		// parse (256.1.1.1, 10.0.1) is a typo, not a host name to look up.
		return fmt.Errorf("has %q, which is not an IP address", host)
	}
	return nil
}

func (g *Graph) validate(p *problems) {
	u, err := url.Parse(g.BaseURL)
	switch {
	case err != nil:
		p.add("graph.base_url", "not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		p.add("graph.base_url", "want an http:// or https:// URL")
	case u.Host == "":
		p.add("graph.base_url", "no host")
	case u.User != nil:
		p.add("graph.base_url", "must not hold a user or password")
	case u.RawQuery != "" || u.Fragment != "":
		p.add("graph.base_url", "must not have a query or fragment")
	default:
		// The client adds graph.version after base_url's path, so a URL
		// copied with the version in it would call /v25.0/v25.0/..., which
		// Graph answers with a vague "Unsupported get request". Only the
		// last segment is the version copied with the URL: a proxy's path
		// may hold a version of its own before the part it forwards
		// (https://gw.example/v1.0/facebook).
		path := strings.TrimRight(u.Path, "/")
		if seg := path[strings.LastIndexByte(path, '/')+1:]; versionPattern.MatchString(seg) {
			p.add("graph.base_url", "holds a Graph API version (%s): give graph.version instead, and base_url without it (like %s)", seg, DefaultGraphBaseURL)
		}
	}
	if !versionPattern.MatchString(g.Version) {
		p.add("graph.version", "is not a version like %s", DefaultGraphVersion)
	}
	if g.Timeout <= 0 {
		p.add("graph.timeout", "must be positive")
	} else if g.Timeout > MaxGraphTimeout {
		p.add("graph.timeout", "must be at most %s (a worker's claim on a target lasts 2 x graph.timeout + 5s)", MaxGraphTimeout)
	}
	if Placeholder(g.AppSecret) {
		p.add("graph.app_secret", placeholderMsg)
	} else {
		checkMetaSecret(p, "graph.app_secret", g.AppSecret, spaceAppSecret)
	}
}

// placeholderMsg names the mistake of a secret left at an example's value,
// without the value.
// (Its words share no four letters with the examples' values, or the
// decoder would hide it as it hides anything that may quote a value from the
// environment.)
const placeholderMsg = "is an example's dummy value: put in your own (deploy/README.md)"

// Placeholder reports whether a secret is one of the FAKE- values that the
// deploy examples (deploy/.env.example, the systemd env file, the
// Kubernetes Secret) ship with. Those values are public: an API token or a
// Redis password left at one lets anyone who reaches the API or Redis send
// replies as the Page, and a verify token or app secret left at one lets
// anyone forge webhook deliveries. So a config holding one is refused, as an
// empty one is.
func Placeholder(secret string) bool {
	return strings.HasPrefix(strings.TrimSpace(secret), "FAKE-")
}

// checkSecretText refuses a secret with white space at either end or a
// control character in it: most often the newline that ends the file or
// variable it was read from. Graph, Meta's webhook handshake and the API's
// bearer check compare a secret byte for byte, so such a one passed check and
// then failed every call, delivery or request with no word of why. The
// messages never show the value; spaceWhy (one of the space consts) says
// why white space at an end breaks this kind of secret.
func checkSecretText(p *problems, path, secret, spaceWhy string) {
	switch {
	case strings.TrimSpace(secret) != secret:
		p.addFixed(path, secretSpace(spaceWhy))
	case strings.ContainsFunc(secret, unicode.IsControl):
		p.addFixed(path, msgSecretControl)
	case shellVar(secret) != "":
		p.add(path, msgShellVar, secret, shellVar(secret))
	}
}

// checkMetaSecret is checkSecretText for a secret Meta issues (a Page
// access token, the app secret), which also refuses white space or a quote
// anywhere in it: Meta's hold neither (a token is letters and digits, an app
// secret hex), so one pasted with what surrounded it (the quotes that
// docker run --env-file keeps, "Bearer " from a curl line) passed check and
// then failed every Graph call of the Page, or every call and webhook
// delivery with the app secret.
func checkMetaSecret(p *problems, path, secret, spaceWhy string) {
	n := len(*p)
	checkSecretText(p, path, secret, spaceWhy)
	if len(*p) == n && strings.ContainsFunc(secret, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(quoteRunes, r)
	}) {
		p.addFixed(path, msgMetaSecretShape)
	}
}

// quoteRunes are the quotes a value can be pasted with: ASCII's and the
// typographic ones an editor or a chat puts in.
const quoteRunes = "\"'`\u2018\u2019\u201c\u201d"

const msgMetaSecretShape = "holds white space or a quote, which no token or secret from Meta has: give the value alone, with no quote around it (an env file may keep them) and no \"Bearer \""

// msgShellVar is checkSecretText's problem with a secret written $NAME.
// Parse keeps it only where the file has that very text: "$$NAME" (the
// loader's literal $) and a ${VAR} whose value is "$NAME" are the secret.
const msgShellVar = "is the text %s: only ${%s} is taken from the environment"

// shellVar returns NAME when s is the shell's $NAME, which the loader keeps
// as text (only ${NAME} is expanded): no secret is written so, and Graph,
// Redis or the API's callers would refuse it on every call. Only a name
// written like an environment variable's is returned, as only such a one
// may be shown.
func shellVar(s string) string {
	if len(s) > 1 && s[0] == '$' && validVarName(s[1:]) && envStyleName(s[1:]) {
		return s[1:]
	}
	return ""
}

func (pg *Page) validate(p *problems, path string, shared *compiled) {
	switch {
	case pg.ID == "":
		p.add(path+".id", "required")
	case !pageIDPattern.MatchString(pg.ID):
		// Not quoted: a token pasted into the wrong key would be.
		p.add(path+".id", "is not a numeric Page id (the Page's digits, e.g. 104251658000000)")
	case pg.ID[0] == '0':
		// Graph writes a Page's id without leading zeros, in its posts' and
		// comments' ids (PAGE_POST) and in the webhook's entries, and the
		// API and the webhook find a Page by its id as written: "0123" would
		// match none of them, and beside "123" the same Page would have two
		// ledgers and two rates. Refused, not trimmed, and not quoted (a
		// digit-only secret may be pasted here).
		p.add(path+".id", "starts with a leading zero, which no Page id has: give the Page's id as Facebook shows it (e.g. 104251658000000)")
	}
	if pg.AccessToken == "" {
		p.add(path+".access_token", "required")
	} else if Placeholder(pg.AccessToken) {
		p.add(path+".access_token", placeholderMsg)
	} else {
		checkMetaSecret(p, path+".access_token", pg.AccessToken, spaceToken)
	}
	if _, err := ParseSchedule(pg.Schedule); err != nil {
		p.add(path+".schedule", "%v", err)
	}
	// The limiter works in nanoseconds: 1.01 × the interval, and burst ×
	// the interval, must fit in a time.Duration. A slower rate or a larger
	// burst overflowed it, and the Page's whole backlog went out at once.
	if pg.Rate.N <= 0 || pg.Rate.Per <= 0 {
		p.add(path+".rate", "must be positive, like 10/s")
	} else if float64(pg.Rate.Per) > float64(pg.Rate.N)*float64(MaxRatePeriod) {
		p.add(path+".rate", "must be at least 1 a day (1/24h)")
	}
	if pg.Burst < 0 {
		p.add(path+".burst", "must not be negative")
	} else if pg.Burst > MaxBurst {
		p.add(path+".burst", "must be at most %d", MaxBurst)
	}

	if pg.ReplyTo != nil && len(pg.ReplyTo) == 0 {
		p.add(path+".reply_to", "list at least one of comments, posts, conversations")
	}
	for i, kind := range pg.ReplyTo {
		kp := path + ".reply_to[" + strconv.Itoa(i) + "]"
		switch kind {
		case ReplyComments, ReplyPosts, ReplyConversations:
		default:
			p.add(kp, "is not one of comments, posts, conversations")
			continue
		}
		for j := range i {
			if pg.ReplyTo[j] == kind {
				p.add(kp, "%s is listed twice", kind)
				break
			}
		}
	}
	if pg.AdsPosts && !pg.Replies(ReplyComments) {
		// Ads posts are the Page's own: only their comments get replies.
		p.add(path+".ads_posts", "reads the comments of the Page's ads posts: add comments to reply_to, or remove ads_posts")
	}
	if pg.Reels && !pg.Replies(ReplyComments) {
		// Reels are the Page's own: only their comments get replies.
		p.add(path+".reels", "reads the comments of the Page's Reels: add comments to reply_to, or remove reels")
	}
	if pg.SkipHidden && !pg.Replies(ReplyComments) {
		// Only comments can be hidden by the Page and answered.
		p.add(path+".skip_hidden", "skips the comments the Page hid: add comments to reply_to, or remove skip_hidden")
	}
	if pg.MaxAge <= 0 || pg.MaxAge > MaxReplyWindow {
		p.add(path+".max_age", "must be more than 0 and at most %s (Meta's reply window)", fmtHours(MaxReplyWindow))
	}
	if pg.ScanPosts <= 0 {
		p.add(path+".scan_posts", "must be positive")
	}
	if pg.PersonGap < 0 || pg.PersonGap > MaxPersonGap {
		p.add(path+".person_gap", "must be between 0 (off) and %s", fmtHours(MaxPersonGap))
	} else if pg.PersonGap > 0 && pg.MaxAge > 0 && pg.PersonGap*2 > pg.MaxAge {
		// A person's replies spaced by the gap run past the window after
		// a few: the reply that would be is sent within the gap instead,
		// and the gap does little.
		p.add(path+".person_gap", "must be at most half of max_age (%s): replies spaced further apart run past the reply window", pg.MaxAge)
	}

	shapes := pageShapes(pg)
	for i := range pg.Rules {
		r := &pg.Rules[i]
		rp := path + ".rules[" + strconv.Itoa(i) + "]"
		r.re, r.tmpl = nil, nil
		if r.Match == "" {
			p.add(rp+".match", "required (default_text is the catch-all)")
		} else if re, err := shared.match(r.Match); err != nil {
			p.add(rp+".match", "%v", err)
		} else {
			r.re = re
		}
		if r.Text == "" {
			p.add(rp+".text", "required")
		} else if t, err := checkTemplate(shared, "text", r.Text, shapes, r.re); err != nil {
			p.add(rp+".text", "%v", err)
		} else {
			r.tmpl = t
		}
	}
	pg.defaultTmpl = nil
	if pg.DefaultText != "" {
		if t, err := checkTemplate(shared, "default_text", pg.DefaultText, shapes, nil); err != nil {
			p.add(path+".default_text", "%v", err)
		} else {
			pg.defaultTmpl = t
		}
	}
}

// minSecretInText is the length from which a secret found in a reply text is
// taken for the secret: shorter ones (a test's verify token "abc") turn up in
// ordinary words.
const minSecretInText = 8

// secretIn returns the first of secrets that text holds, if any; secrets
// shorter than minSecretInText are not looked for.
func secretIn(text string, secrets []namedSecret) (namedSecret, bool) {
	for _, s := range secrets {
		if len(s.value) >= minSecretInText && strings.Contains(text, s.value) {
			return s, true
		}
	}
	return namedSecret{}, false
}

// secretIndex finds which of a config's secrets a reply text holds, as
// secretIn does, for every text of every Page: an agency's 5,000 Pages have
// 5,000 tokens and 15,000 texts, and trying each token on each text was
// 75 million searches, a quarter of the config's load. A text is tried only
// on the secrets no longer than it (a token is longer than most texts), and
// a text many Pages share is tried once.
type secretIndex struct {
	byLen []indexedSecret // the secrets of minSecretInText bytes or more, shortest first
	memo  map[string]int  // text: index in the secrets of the first it holds, -1 for none
	all   []namedSecret
	// compares counts the searches made, for the test of the above.
	compares int
}

type indexedSecret struct {
	at    int // index in all: of two secrets a text holds, the first is named
	value string
}

func newSecretIndex(secrets []namedSecret) *secretIndex {
	x := &secretIndex{all: secrets, memo: map[string]int{}}
	for i, s := range secrets {
		if len(s.value) >= minSecretInText {
			x.byLen = append(x.byLen, indexedSecret{i, s.value})
		}
	}
	slices.SortStableFunc(x.byLen, func(a, b indexedSecret) int { return len(a.value) - len(b.value) })
	return x
}

// find is secretIn(text, the secrets x was made of).
func (x *secretIndex) find(text string) (namedSecret, bool) {
	at, seen := x.memo[text]
	if !seen {
		at = -1
		for _, s := range x.byLen {
			if len(s.value) > len(text) {
				break
			}
			x.compares++
			if (at < 0 || s.at < at) && strings.Contains(text, s.value) {
				at = s.at
			}
		}
		x.memo[text] = at
	}
	if at < 0 {
		return namedSecret{}, false
	}
	return x.all[at], true
}

// HoldsSecret reports whether text holds one of secrets (as Config.Secrets
// returns them), as the config's check of its reply texts finds it: a
// reply text that does would send the secret to the person it answers.
// Secrets shorter than 8 bytes are not looked for (they turn up in
// ordinary words). The API and the enqueue command check the texts they
// are given with it.
func HoldsSecret(text string, secrets []string) bool {
	return holdsSecret(text, secrets, false)
}

// holdsSecret is HoldsSecret, leaving out the secrets made only of an id's
// characters when skipIDLike (IDHoldsSecret).
func holdsSecret(text string, secrets []string, skipIDLike bool) bool {
	for _, s := range secrets {
		if len(s) >= minSecretInText && !(skipIDLike && idLike(s)) && strings.Contains(text, s) {
			return true
		}
	}
	return false
}

// IDHoldsSecret is HoldsSecret for a Graph id given to the API or the
// enqueue command (a comment, post or conversation id, or a reply id such
// as comment:<id>): a secret made only of digits and underscores, the
// characters of Graph's ids (a numeric Redis password, verify token or API
// token), is not looked for, as it cannot be told from part of an id: a
// real comment id holding "00000000" would be refused, and its comment
// missed.
func IDHoldsSecret(id string, secrets []string) bool {
	return holdsSecret(id, secrets, true)
}

// IDSecret is TextSecret for a Graph id, as IDHoldsSecret looks for them.
func (c *Config) IDSecret(id string) (key string, ok bool) {
	var named []namedSecret
	for _, s := range c.namedSecrets() {
		if !idLike(s.value) {
			named = append(named, s)
		}
	}
	s, ok := secretIn(id, named)
	return s.path, ok
}

// idLike reports whether s is made only of the characters of Graph's ids,
// digits and underscores.
func idLike(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '_' {
			return false
		}
	}
	return true
}

// TextSecret returns the key of the first of the configuration's secrets
// (see Secrets) that text holds, such as "pages[0].access_token", never
// the value; ok is false when text holds none.
func (c *Config) TextSecret(text string) (key string, ok bool) {
	s, ok := secretIn(text, c.namedSecrets())
	return s.path, ok
}

// checkTextSecrets refuses a reply text that holds one of the configuration's
// secrets: a ${PAGE_TOKEN} written in a text for the access_token beside it,
// say, would send the Page's token to every person it answers, and check
// found the config valid. The message names the secret's key, never its
// value.
func (pg *Page) checkTextSecrets(p *problems, path string, secrets *secretIndex) {
	check := func(tp, text string) {
		if s, ok := secrets.find(text); ok {
			// The message is set whole, with no arguments: the decoder
			// hides the words of an argument that share four letters
			// with a value from the environment, as a key's name can,
			// and the key is all it shows.
			*p = append(*p, &FieldError{Path: tp, Msg: "holds the value of " + s.path + ": every reply would send that secret to the person it answers"})
		}
	}
	for i := range pg.Rules {
		check(path+".rules["+strconv.Itoa(i)+"].text", pg.Rules[i].Text)
	}
	check(path+".default_text", pg.DefaultText)
}

// compiled holds the regexps and templates validation compiled, by their
// text: the Pages of an agency's config share their rules and texts, and
// share one compiled copy of each rather than 5,000 (both are safe for
// concurrent use, and nothing changes them once compiled). A template is
// still tried on each Page's shapes of input (checkTemplate), once for all
// Pages when it does not depend on the Page (compiled.check).
type compiled struct {
	res      map[string]compiledMatch
	tmpls    map[[2]string]compiledTemplate
	usesPage map[*template.Template]bool
	checks   map[checkKey]error
}

type compiledMatch struct {
	re  *regexp.Regexp
	err error
}

type compiledTemplate struct {
	t   *template.Template
	err error
}

// match is compileMatch(expr), compiled once per expr (each time on a nil c).
func (c *compiled) match(expr string) (*regexp.Regexp, error) {
	if c == nil {
		return compileMatch(expr)
	}
	if m, ok := c.res[expr]; ok {
		return m.re, m.err
	}
	re, err := compileMatch(expr)
	if c.res == nil {
		c.res = map[string]compiledMatch{}
	}
	c.res[expr] = compiledMatch{re, err}
	return re, err
}

// template is parseTemplate(name, text), parsed once per name and text
// (each time on a nil c).
func (c *compiled) template(name, text string) (*template.Template, error) {
	if c == nil {
		return parseTemplate(name, text)
	}
	k := [2]string{name, text}
	if m, ok := c.tmpls[k]; ok {
		return m.t, m.err
	}
	t, err := parseTemplate(name, text)
	if c.tmpls == nil {
		c.tmpls = map[[2]string]compiledTemplate{}
	}
	c.tmpls[k] = compiledTemplate{t, err}
	return t, err
}

// compileMatch compiles a rule's match. Its error says what is wrong
// without the piece of the expression regexp quotes.
func compileMatch(expr string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, fmt.Errorf("is not a valid Go regexp: %s", se.Code)
		}
		return nil, errors.New("is not a valid Go regexp")
	}
	return re, nil
}

// checkTemplate parses a reply template and renders it on each shape of
// input the Page's replies can have (replyShapes), so a misspelt field, a
// text that comes out empty, or a template that fails on some replies
// ({{slice .Message 0 20}} on a short comment, {{index .Name 0}} on a
// person Graph gives no name, {{slice .PostID 0 5}} on a conversation
// message) fails at start-up rather than at the replies: every such reply
// would be missed.
//
// match is the rule's regexp (nil for default_text): beyond the primary
// shapes, a rule's text is tried on the messages its match lets through
// only, so a rule for long messages ("^price of (.+)$") may cut them as it
// likes.
func checkTemplate(shared *compiled, name, text string, shapes *shapeSet, match *regexp.Regexp) (*template.Template, error) {
	t, err := shared.template(name, text)
	if err != nil {
		return nil, err
	}
	if err := shared.check(t, name, text, shapes, match); err != nil {
		return nil, err
	}
	return t, nil
}

// check renders t on shapes (see checkTemplate). On a non-nil c a template
// that does not depend on the Page (usesPage) is rendered once per kinds
// replied to and match, not once per Page.
func (c *compiled) check(t *template.Template, name, text string, shapes *shapeSet, match *regexp.Regexp) error {
	if c == nil {
		return checkShapes(t, name, text, shapes.get(), match)
	}
	dep, ok := c.usesPage[t]
	if !ok {
		dep = usesPage(t)
		if c.usesPage == nil {
			c.usesPage = map[*template.Template]bool{}
		}
		c.usesPage[t] = dep
	}
	if dep {
		return checkShapes(t, name, text, shapes.get(), match)
	}
	k := checkKey{t: t, match: match, kinds: shapes.kinds}
	if err, ok := c.checks[k]; ok {
		return err
	}
	err := checkShapes(t, name, text, shapes.get(), match)
	if c.checks == nil {
		c.checks = map[checkKey]error{}
	}
	c.checks[k] = err
	return err
}

// checkKey is what the check of a template that does not depend on the
// Page depends on: the template, the rule's match, the kinds replied to.
type checkKey struct {
	t     *template.Template
	match *regexp.Regexp
	kinds uint8
}

// checkShapes renders t on each shape, and returns the first failure,
// naming the shape.
func checkShapes(t *template.Template, name, text string, shapes []replyShape, match *regexp.Regexp) error {
	for i, s := range shapes {
		if !s.primary && match != nil && !match.MatchString(s.data.Message) {
			continue
		}
		_, err := execute(t, name, text, s.data)
		switch {
		case err == nil, !s.primary && errors.Is(err, ErrTextEmpty):
		case i == 0:
			return fmt.Errorf("on sample data: %w", err)
		default:
			return fmt.Errorf("on %s: %w", s.what, err)
		}
	}
	return nil
}

// fmtDur writes whole hours as fmtHours does, and anything else as Go does.
func fmtDur(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmtHours(d)
	}
	return d.String()
}

func fmtHours(d time.Duration) string {
	return strconv.Itoa(int(d.Hours())) + "h"
}
