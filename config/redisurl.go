package config

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

// The messages of a secret with white space at either end or a control
// character in it (checkSecretText's), a Redis URL's included: it holds a
// password, and comes from a file or variable as the other secrets do.
const msgSecretControl = "holds a control character: a secret is printable text; set it again from its source"

// Why white space at a secret's end breaks it, for each kind of secret:
// secretSpace's reason. Each is fixed text.
const (
	// The API's bearer tokens and the webhook's verify token, which the
	// API and Meta's handshake compare with what a caller sends.
	spaceCompared = "the secret is compared byte for byte"
	// A Page's access token, sent to Graph with each call.
	spaceToken = "Graph would get the spaces as part of the token"
	// The app secret, the key of each call's appsecret_proof and of the
	// webhook deliveries' signatures.
	spaceAppSecret = "appsecret_proof and the webhook's signatures would be computed with them"
	// redis.url, which go-redis dials.
	spaceURL = "the URL would be dialed with them"
	// A Sentinel's or Cluster's password, sent to Redis with AUTH.
	spacePassword = "Redis would get the spaces as part of the password"
)

// secretSpace is the message of a secret with white space at either end,
// with why that breaks this kind of secret (one of the space consts).
func secretSpace(reason string) string {
	return "starts or ends with white space (often the newline that ends the file or variable it was read from): remove it, " + reason
}

// RedisURLProblem's messages. Each is fixed text, never built from the URL,
// which may hold a password.
const (
	// msgRedisURLForm is said of a Redis URL not written as one: most often
	// a bare host:port. "127.0.0.1:6379" is no URL, and "redis:6379" or
	// "localhost:6379" one of scheme "redis" or "localhost" without "//"
	// (no host: go-redis would dial localhost:6379, database 0, for
	// "redis:6379/15").
	msgRedisURLForm = "not a valid URL: write it as redis://host:port/db, like redis://127.0.0.1:6379/0 (rediss:// for TLS)"
	// msgRedisURLPassword follows msgRedisURLForm for a URL with a user or
	// password (an @ after the scheme) that does not parse: most often a
	// password holding a character a URL gives a meaning to (a % not
	// starting an escape, a # that starts the fragment, a / or ? that ends
	// the host, a space). "write it as redis://host:port/db" alone told
	// nothing the URL's writer did not know.
	msgRedisURLPassword = "; in the user or password, write % as %25, # as %23, / as %2F, ? as %3F, @ as %40 and a space as %20"
	msgRedisURLScheme   = "scheme must be redis:// or rediss://"
	msgRedisURLHash     = "holds a # (write a # in the password as %23)"
	msgRedisURLAt       = "has an @ after its host (in the user or password, write / as %2F, ? as %3F and @ as %40)"
	msgRedisURLNoHost   = "no host (write it as redis://host:port/db, like redis://127.0.0.1:6379/0)"
	msgRedisURLPort     = "the host has no valid port (write a / or ? in the password as %2F or %3F)"
	msgRedisURLColon    = "the host holds a : (a user and password end with @ before the host; write an IPv6 address in brackets, like redis://[::1]:6379/0)"
	msgRedisURLHostName = "the host is not a host name or IP address (a name is letters, digits, '-', '.' and '_'; write an IPv6 address in brackets, like redis://[::1]:6379/0)"
	msgRedisURLDB       = "the path must be a database number, like /0"
	msgRedisURLQuery    = "takes no query parameters (pagereply sets its own timeouts and pool sizes) but skip_verify with TLS; remove the part from ?"
	msgRedisURLSkip     = "skip_verify must be true or false"
)

// RedisURLProblem returns the first problem of raw as a Redis URL
// (redis.url, or a command's --redis), or nil when it is one pagereply
// dials as written: redis:// or rediss://, a host, an optional port and
// database number, and no query but skip_verify with rediss://. config's
// redis.url and tasks.RedisConnOpt both call it, so they refuse the same
// URLs with the same words. The message is one of a fixed few, never built
// from raw, and names no key: the caller says which key or flag it was.
//
// Every URL it takes, go-redis's ParseURL takes too, and dials the host
// written in it: a # or an @ after the host's end (a password's
// unescaped #, / or ?) would leave a host and port made of the password's
// head, and no host would be localhost:6379.
//
// It does not refuse the text $NAME (config's redis.url says only ${NAME}
// is expanded) nor a placeholder password: those are the config's.
func RedisURLProblem(raw string) error {
	switch {
	case strings.TrimSpace(raw) != raw:
		return errors.New(secretSpace(spaceURL))
	case strings.ContainsFunc(raw, unicode.IsControl):
		return errors.New(msgSecretControl)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" {
		if redisURLHasUser(raw) {
			return errors.New(msgRedisURLForm + msgRedisURLPassword)
		}
		return errors.New(msgRedisURLForm)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		// Not the scheme itself: with no "//" it is what comes before the
		// first ':' (a user name, or a password, written alone).
		return errors.New(msgRedisURLScheme)
	}
	// A # starts the URL's fragment wherever it is: one in the password
	// ("redis://default:4821#kP9@redis:6379/0") leaves a host and port made
	// of the password's head, which would be dialled and named in
	// go-redis's errors and every message that names the Redis.
	if strings.Contains(raw, "#") {
		return errors.New(msgRedisURLHash)
	}
	// A / or ? in the password ends the host the same way
	// ("redis://u:1234?x@host" is u:1234).
	if _, rest, ok := strings.Cut(raw, "://"); ok {
		if end := strings.IndexAny(rest, "/?"); end >= 0 && strings.Contains(rest[end:], "@") {
			return errors.New(msgRedisURLAt)
		}
	}
	// go-redis would dial localhost:6379: bench's --flush would empty a
	// database of the Redis on this machine, not the one meant.
	if u.Hostname() == "" {
		return errors.New(msgRedisURLNoHost)
	}
	// Not CheckHostPort's message: it quotes the host.
	if u.Port() != "" && CheckHostPort(u.Host, false) != nil {
		return errors.New(msgRedisURLPort)
	}
	// With no port after its last ':' the host is not checked above: one
	// holding a ':' outside brackets ("redis://default:pw:/0", a user and
	// password with no "@host"; "redis://fe80::/0") would be dialled as
	// "[default:pw]:6379", a host made of the password, named in the
	// resolver's error ("lookup default:pw: no such host").
	if !strings.HasPrefix(u.Host, "[") && strings.Contains(u.Hostname(), ":") {
		return errors.New(msgRedisURLColon)
	}
	// Anything else a URL's host may hold ("redis://]", "redis://a<b",
	// "redis://[h]") is no host a resolver finds: go-redis would dial
	// "]:6379", which the dialler refuses with the host quoted, or look up
	// a name made of a typo.
	if !redisHostOK(u.Host, u.Hostname()) {
		return errors.New(msgRedisURLHostName)
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return errors.New(msgRedisURLDB)
		}
	}
	// pagereply sets its own pools and timeouts: a query parameter would be
	// dropped or, misspelt, refused only when a command connects.
	// skip_verify (TLS URLs only) is kept, with a value go-redis takes.
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return errors.New(msgRedisURLQuery)
		}
		for name := range q {
			if name != "skip_verify" || u.Scheme != "rediss" {
				return errors.New(msgRedisURLQuery)
			}
		}
		for _, v := range q["skip_verify"] {
			switch v {
			case "", "true", "false", "1", "0":
			default:
				return errors.New(msgRedisURLSkip)
			}
		}
	}
	return nil
}

// redisURLHasUser reports whether raw has an @ after its scheme: a user or
// password, or a password's @ or the rest of it.
func redisURLHasUser(raw string) bool {
	_, rest, ok := strings.Cut(raw, "://")
	return ok && strings.Contains(rest, "@")
}

// redisHostOK reports whether name, the host of a URL whose host part is
// host, is an IP address in brackets (an IPv6 one, with a zone or not) or a
// host name or IPv4 address: letters, digits, '-', '.' and '_'.
func redisHostOK(host, name string) bool {
	if strings.HasPrefix(host, "[") {
		ip, _, _ := strings.Cut(name, "%")
		return net.ParseIP(ip) != nil
	}
	return !strings.ContainsFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_')
	})
}
