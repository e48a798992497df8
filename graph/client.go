package graph

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// DefaultTimeout is the per-request timeout used when Config.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// maxBody is the most of a response body a Client reads; a longer body is an
// error.
const maxBody = 10 << 20

// Endpoint names, as in CallInfo.Endpoint and Error.Endpoint.
const (
	EndpointFeed          = "feed"
	EndpointAdsPosts      = "ads_posts"
	EndpointReels         = "video_reels"
	EndpointComments      = "comments"
	EndpointObject        = "object"
	EndpointConversations = "conversations"
	EndpointMessages      = "messages"
)

// Config configures New.
type Config struct {
	// BaseURL is the Graph API's scheme and host (and optional path prefix).
	// If empty, DefaultBaseURL.
	BaseURL string
	// Version is the Graph API version, e.g. "v25.0". If empty, DefaultVersion.
	Version string
	// AppSecret, when set, makes every call carry appsecret_proof, the hex
	// HMAC-SHA256 of the access token keyed by the app secret.
	AppSecret string
	// Timeout bounds each HTTP request, body included (a paging iterator gets
	// it per page). If zero, DefaultTimeout.
	Timeout time.Duration
	// HTTPClient sends the requests. If nil, a client shared by every Client,
	// with a Transport tuned to keep connections to Graph open. Redirects are
	// never followed, whatever its CheckRedirect says.
	HTTPClient *http.Client
	// Observer, if set, is called after every HTTP request, successful or not,
	// for metrics and throttle detection. It must be safe for concurrent use.
	Observer func(CallInfo)
}

// Client calls the Graph API. It is safe for concurrent use.
//
// The access token never goes into a URL: GETs carry it in an Authorization:
// Bearer header, POSTs in the form body. appsecret_proof (not a secret on its
// own) goes in the query string of GETs and the body of POSTs.
//
// CallInfo.PageID is the Page's id for Feed, Conversations and the sends. For
// Comments and Post it is the prefix of a "<page>_<post>" id; for the other
// calls, and to override, set it with WithPageID.
type Client struct {
	base     *url.URL
	baseURL  string // base.String()
	version  string
	secret   []byte
	timeout  time.Duration
	hc       *http.Client
	observer func(CallInfo)
	// lastUsage is the last answer's usage headers and what they say:
	// consecutive answers mostly carry the same ones.
	lastUsage atomic.Pointer[usageMemo]
}

type usageMemo struct {
	app, page, buc string
	u              Usage
}

// usage is ParseUsage, remembering the last headers read.
func (c *Client) usage(h http.Header) Usage {
	app, page, buc := h["X-App-Usage"], h["X-Page-Usage"], h["X-Business-Use-Case-Usage"]
	if len(app) > 1 || len(page) > 1 || len(buc) > 1 {
		return ParseUsage(h)
	}
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	a, p, b := first(app), first(page), first(buc)
	if last := c.lastUsage.Load(); last != nil && last.app == a && last.page == p && last.buc == b {
		return last.u
	}
	u := ParseUsage(h)
	c.lastUsage.Store(&usageMemo{app: a, page: p, buc: b, u: u})
	return u
}

var defaultHTTPClient = &http.Client{
	Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          200,
		MaxIdleConnsPerHost:   100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	},
	// Graph does not redirect API calls; following one could carry the
	// Authorization header to another host.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// New returns a Client for cfg. If cfg.BaseURL is not an absolute http or
// https URL, every call fails with a permanent error saying so.
func New(cfg Config) *Client {
	c := &Client{
		version:  cfg.Version,
		timeout:  cfg.Timeout,
		hc:       cfg.HTTPClient,
		observer: cfg.Observer,
	}
	if cfg.AppSecret != "" {
		c.secret = []byte(cfg.AppSecret)
	}
	if c.version == "" {
		c.version = DefaultVersion
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient
	} else {
		hc := *c.hc
		hc.CheckRedirect = defaultHTTPClient.CheckRedirect
		c.hc = &hc
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	if u, err := url.Parse(strings.TrimRight(base, "/")); err == nil && u.Host != "" && (u.Scheme == "http" || u.Scheme == "https") {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		c.base = u
		c.baseURL = u.String()
	}
	return c
}

type pageIDKey struct{}

// WithPageID returns a context that makes the calls made with it report pageID
// in CallInfo.PageID, for calls that cannot tell the Page from their
// arguments (Comment, PrivateReplyConversation) or to override.
func WithPageID(ctx context.Context, pageID string) context.Context {
	return context.WithValue(ctx, pageIDKey{}, pageID)
}

// pageFor returns the Page id for CallInfo: the context's, else known.
func pageFor(ctx context.Context, known string) string {
	if id, ok := ctx.Value(pageIDKey{}).(string); ok && id != "" {
		return id
	}
	return known
}

// pageOfPost returns the Page id of a "<page>_<post>" id, or "".
func pageOfPost(postID string) string {
	if i := strings.IndexByte(postID, '_'); i > 0 {
		return postID[:i]
	}
	return ""
}

// AppSecretProof returns appsecret_proof for token: the hex HMAC-SHA256 of the
// token keyed by the app secret.
func AppSecretProof(appSecret, token string) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

func (c *Client) proof(token string) string {
	if c.secret == nil {
		return ""
	}
	return AppSecretProof(string(c.secret), token)
}

// objectURL returns the URL of /{version}/{id}[/{edge}] with query q.
func (c *Client) objectURL(id, edge string, q url.Values) string {
	u := c.baseURL + "/" + url.PathEscape(c.version) + "/" + url.PathEscape(id)
	if edge != "" {
		u += "/" + edge
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// request is one HTTP call to Graph.
type request struct {
	method   string
	endpoint string
	pageID   string
	url      string // no credentials; appsecret_proof is added for GETs
	body     []byte // POST form body without credentials (send appends them)
	token    string
	// page is the Page's id when the call is made on the Page itself (a
	// send in its name, its feed, its conversations), for pageUnreachable.
	page string
}

// response is a successful (2xx) answer.
type response struct {
	status int
	body   []byte
	usage  Usage
	// What observed reports with the status and usage above, once the
	// body is read.
	endpoint, pageID string
	took             time.Duration
}

// do sends r and returns the 2xx answer, or a *Error. It reports a failed
// call to the Observer; the caller reports a 2xx answer with observed once
// it has read the body, which may not be Graph's answer at all.
func (c *Client) do(ctx context.Context, r request) (*response, error) {
	start := time.Now()
	resp, err := c.send(ctx, r)
	took := time.Since(start)
	if err == nil && resp != nil {
		resp.endpoint, resp.pageID, resp.took = r.endpoint, r.pageID, took
		return resp, nil
	}
	info := CallInfo{Endpoint: r.endpoint, PageID: r.pageID, Duration: took, Failed: err != nil}
	var ge *Error
	switch {
	case errors.As(err, &ge):
		info.HTTPStatus, info.Code, info.Usage = ge.HTTPStatus, ge.Code, ge.Usage
	case resp != nil:
		info.HTTPStatus, info.Usage = resp.status, resp.usage
	}
	if c.observer != nil {
		c.observer(info)
	}
	return resp, err
}

// observed reports a 2xx answer to the Observer, failed when its body could
// not be read: counted with the successes, an unreadable answer would hide
// from the metrics, and its usage headers would still be acted on.
func (c *Client) observed(resp *response, failed bool) {
	if c.observer != nil {
		c.observer(CallInfo{Endpoint: resp.endpoint, PageID: resp.pageID, HTTPStatus: resp.status,
			Failed: failed, Duration: resp.took, Usage: resp.usage})
	}
}

func (c *Client) send(ctx context.Context, r request) (*response, error) {
	post := r.method == http.MethodPost
	fail := func(e *Error) error {
		e.Endpoint = r.endpoint
		c.redact(e, r.token)
		return e
	}
	if c.base == nil {
		return nil, fail(&Error{Message: "invalid base URL in the configuration", Class: ClassPermanent})
	}
	if r.token == "" {
		return nil, fail(&Error{Message: "no access token", Class: ClassPageBroken})
	}

	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	// wrote is set once the request's headers have gone out: from then on a
	// POST may have reached Graph.
	var wrote atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	})

	var (
		req *http.Request
		err error
	)
	proof := c.proof(r.token)
	if post {
		body := appendFormField(r.body, "access_token", r.token)
		if proof != "" {
			body = appendFormField(body, "appsecret_proof", proof)
		}
		req, err = http.NewRequestWithContext(tctx, r.method, r.url, bytes.NewReader(body))
		if err == nil {
			req.Header["Content-Type"] = formContentType
		}
	} else {
		u := r.url
		if proof != "" {
			u = setQuery(u, "appsecret_proof", proof)
		}
		req, err = http.NewRequestWithContext(tctx, r.method, u, nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+r.token)
		}
	}
	if err != nil {
		return nil, fail(&Error{Message: "build request", Err: stripURL(err), Class: ClassPermanent})
	}
	req.Header["Accept"] = acceptJSON

	resp, err := c.roundTrip(req)
	if err != nil {
		return nil, fail(&Error{
			Message: transportMessage(ctx, err),
			Err:     stripURL(err),
			Class:   ClassTransient,
			Unknown: post && wrote.Load(),
		})
	}
	defer resp.Body.Close()

	usage := c.usage(resp.Header)
	body, rerr := readBody(resp)
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	// An answer to a send whose body cannot be read leaves its outcome
	// unknown whatever its status: Graph answers some sends that went
	// through under a 4xx too (code 1 with subcode 1357046, "Received
	// invalid JSON reply", after the messages were sent; codes 1, 2 and
	// 1200, which below make any answer's outcome unknown), and only the
	// body would tell a refusal from those.
	switch {
	case rerr != nil:
		return nil, fail(throttledByUsage(&Error{
			HTTPStatus: resp.StatusCode,
			Message:    "read response: " + transportMessage(ctx, rerr),
			Err:        stripURL(rerr),
			Class:      ClassTransient,
			Usage:      usage,
			RetryAfter: max(usage.RegainAccess, retryAfter(resp.Header, time.Now())),
			Unknown:    post,
		}))
	case len(body) > maxBody:
		return nil, fail(throttledByUsage(&Error{
			HTTPStatus: resp.StatusCode,
			Message:    fmt.Sprintf("response body larger than %d bytes", maxBody),
			Class:      ClassTransient,
			Usage:      usage,
			RetryAfter: max(usage.RegainAccess, retryAfter(resp.Header, time.Now())),
			Unknown:    post,
		}))
	}

	if ok && !hasErrorKey(body) {
		// What a 2xx answer says leaves the Client as data (a send's
		// message_id goes to the log, the ledger and the API; an item's id
		// and text to tasks and logs), never through redact: the call's
		// secrets go here, raw or written with JSON escapes.
		var held [3]string
		secrets := append(held[:0], r.token)
		if proof != "" {
			secrets = append(secrets, string(c.secret), proof)
		}
		return &response{status: resp.StatusCode, body: redactAnswer(body, secrets), usage: usage}, nil
	}

	e := c.callError(resp.StatusCode, resp.Header.Get("Content-Type"), body, r)
	e.Usage = usage
	e.RetryAfter = max(usage.RegainAccess, retryAfter(resp.Header, time.Now()))
	if e.Code == 0 && graphRefusedToken(resp.Header) {
		// No Graph error body, but Graph's own WWW-Authenticate says the
		// token is refused: the Page's token, not a passing failure.
		e.Class = ClassPageBroken
		e.Message += " (WWW-Authenticate: the token is refused)"
	}
	// A 5xx on a send may come after Graph acted, and so may any answer that
	// Graph calls transient (codes 1 and 2, is_transient, a temporary send
	// failure) whatever its status: "an unknown error occurred" does not say
	// that nothing was sent. The next attempt checks before sending again.
	// The thread control refusal is transient but definite: nothing was sent.
	e.Unknown = post && !threadControlled(e.Code, e.Subcode, e.Message) &&
		(resp.StatusCode >= 500 || e.Class == ClassTransient || e.Code == codeTemporarySendFailure)
	return nil, fail(throttledByUsage(e))
}

// throttledByUsage classes e as throttled when its answer's usage headers
// say the app or Page is at its limit and e is otherwise transient or
// permanent: Meta lengthens a block that is ignored, so the caller stops
// before it starts, whatever the answer's body said or whether it could be
// read at all. The outcome stays unknown where it was.
func throttledByUsage(e *Error) *Error {
	if e.Usage.Throttled() && (e.Class == ClassTransient || e.Class == ClassPermanent) {
		e.Class = ClassThrottled
	}
	return e
}

// roundTrip sends req, never following a redirect (Graph does not redirect
// API calls, and following one could carry the token to another host): a 3xx
// comes back as it is. With a client that has no cookie jar and no timeout of
// its own (the default one, and any that only picks a transport) it goes to
// the transport directly, saving the copies of the request's headers and URL
// http.Client makes for redirects.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	if c.hc.Jar != nil || c.hc.Timeout != 0 {
		return c.hc.Do(req)
	}
	rt := c.hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	return rt.RoundTrip(req)
}

// Header values every call sets; net/http never modifies a request's headers.
var (
	formContentType = []string{"application/x-www-form-urlencoded"}
	acceptJSON      = []string{"application/json"}
)

// readBody reads up to maxBody+1 bytes of an answer: into a buffer of the
// announced length when there is one (a send's answer is a hundred bytes,
// which io.ReadAll would read into 512), else as it comes.
func readBody(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= maxBody {
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
}

// hasErrorKey reports whether a 2xx body is nevertheless Graph's error shape.
func hasErrorKey(body []byte) bool {
	if !bytes.Contains(body, []byte(`"error"`)) {
		return false
	}
	var w wireError
	return json.Unmarshal(body, &w) == nil && w.Error != nil
}

// transportMessage describes a failed exchange without any URL.
func transportMessage(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() == context.DeadlineExceeded:
		return msgTimeout
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return msgTimeout
	}
	return msgConnectionFailed
}

// The messages of a call that got no answer at all (transportMessage).
const (
	msgTimeout          = "timeout"
	msgConnectionFailed = "connection failed"
)

// NoAnswer reports whether err is a call that got no answer at all from
// the client's base URL: a connection refused or cut, a name that does not
// resolve, a timeout before any answer (no HTTP status). Where the base URL
// is wrong (another port, the sandbox not started) every call fails so.
func NoAnswer(err error) bool {
	var ge *Error
	return errors.As(err, &ge) && ge.HTTPStatus == 0 && (ge.Message == msgConnectionFailed || ge.Message == msgTimeout)
}

// NoAnswerHint is what to check after NoAnswer, for a client of baseURL
// (graph.base_url): the URL is what a first try gets wrong (the sandbox not
// started, another port), so it is named with its key. It holds no user,
// password, query or fragment (the config refuses them): the token travels
// in an Authorization header or a request body, and a GET's
// appsecret_proof is added to each call's own URL, never to it.
func NoAnswerHint(baseURL string) string {
	return "Graph did not answer at " + baseURL + " (graph.base_url): check that this host reaches it (with the sandbox, that it runs at that address)"
}

// stripURL removes the URL that net/http puts into its errors: it carries no
// token, but appsecret_proof and ids have no place in an error string.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact removes the token and the app secret from everything e says, in case
// an answer echoes them (Graph's "Malformed access token ..." does).
func (c *Client) redact(e *Error, token string) {
	secrets := c.secrets(token)
	for _, f := range []*string{&e.Message, &e.UserTitle, &e.UserMessage, &e.Type, &e.FBTraceID} {
		*f = redactWith(*f, secrets)
	}
	if e.Err != nil {
		if msg := redactWith(e.Err.Error(), secrets); msg != e.Err.Error() {
			e.Err = redactedError{msg: msg, err: e.Err}
		}
	}
}

// secrets returns what must never be shown of a call with token: the token,
// the app secret and the token's appsecret_proof.
func (c *Client) secrets(token string) []string {
	secrets := []string{token}
	if c.secret != nil {
		secrets = append(secrets, string(c.secret), c.proof(token))
	}
	return secrets
}

// callError decodes Graph's error answer to the call r: the call's secrets
// redacted, and classed page broken when it is 100/33 naming the Page the
// call was made on (pageUnreachable).
func (c *Client) callError(status int, contentType string, body []byte, r request) *Error {
	// The media type an answer that is not Graph's is named by comes
	// lowercased, where a secret the Content-Type echoes no longer matches:
	// such a type goes unnamed.
	secrets := c.secrets(r.token)
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(strings.ToLower(contentType), strings.ToLower(s)) {
			contentType = ""
		}
	}
	// Secrets go before decodeError clips long strings: a token cut at the
	// clip would no longer match whole, and its head would stay.
	// And after decoding, before the clip too: a secret written with JSON
	// escapes (\u0045AA...) matches no bytes of the body, but decodes to
	// itself.
	e := decodeErrorRedacted(status, contentType, c.redactBody(body, r.token), func(s string) string {
		return redactWith(s, secrets)
	})
	if e.Class == ClassPermanent && pageUnreachable(e, r.page) {
		// Not this reply's: every call on the Page gets it alike.
		e.Class = ClassPageBroken
	}
	return e
}

// redactBody replaces the secrets of a call with token in an answer's body
// (Graph echoes a malformed token in its error message); body is returned
// as it is, not copied, when it holds none.
func (c *Client) redactBody(body []byte, token string) []byte {
	for _, s := range c.secrets(token) {
		if len(s) >= 4 && bytes.Contains(body, []byte(s)) {
			body = bytes.ReplaceAll(body, []byte(s), []byte("[redacted]"))
		}
	}
	return body
}

// redactAnswer replaces the secrets in a 2xx answer's JSON strings with
// [redacted]: written as their own bytes, or with JSON escapes (\u0045AA...
// decodes to the token but matches none of its bytes), each such string
// then written anew. Only strings that decode are changed, so redaction
// never makes an answer readable that was not, or the reverse (a secret
// elsewhere breaks the answer's JSON, and the decode errors say so without
// it: redactedDecodeErrors). A body without a secret (every answer of
// Graph's but a next link's access_token, which nextURL drops anyway) is
// returned as it is, not copied.
func redactAnswer(body []byte, secrets []string) []byte {
	// A string is decoded only when its value could hold a secret: one of
	// them raw among its bytes, or an escape standing for a byte a secret
	// has (\u0045 for the token's E). Graph writes every non-ASCII
	// character as a \u escape, which stands for no byte of an ASCII
	// secret: a listing's text in any language is left undecoded.
	var secs []string
	var inSecret [128]bool
	ascii := true
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		secs = append(secs, s)
		for k := 0; k < len(s); k++ {
			if s[k] >= utf8.RuneSelf {
				ascii = false
			} else {
				inSecret[s[k]] = true
			}
		}
	}
	if len(secs) == 0 {
		return body
	}
	// Where the secrets stand raw (a next link's access_token), in order.
	var at []int
	for _, s := range secs {
		for k := 0; ; {
			n := bytes.Index(body[k:], []byte(s))
			if n < 0 {
				break
			}
			at = append(at, k+n)
			k += n + 1
		}
	}
	slices.Sort(at)
	if len(at) == 0 && !anyEscapeMaySpell(body, &inSecret, ascii) {
		// Most answers: no string to look into.
		return body
	}
	var out []byte
	last := 0
	for i := 0; i < len(body); {
		q := bytes.IndexByte(body[i:], '"')
		if q < 0 {
			break
		}
		start := i + q
		suspect := false
		j := start + 1
		for {
			e := bytes.IndexByte(body[j:], '"')
			if e < 0 {
				j = len(body)
				break
			}
			// end is the next quote: the string's, unless an escape takes
			// it. The escapes before it are read in one pass (searching
			// for the quote again after each made a string of n escapes,
			// Graph's non-ASCII text, cost n² byte reads).
			end := j + e
			if !ascii && !suspect && bytes.ContainsFunc(body[j:end], func(r rune) bool { return r >= utf8.RuneSelf }) {
				// Invalid UTF-8 decodes to U+FFFD, which a secret may hold.
				suspect = true
			}
			for {
				b := bytes.IndexByte(body[j:end], '\\')
				if b < 0 {
					break
				}
				if !suspect && escapeMaySpell(body[j+b+1:], &inSecret, ascii) {
					suspect = true
				}
				j += b + 2
				if j > end {
					break
				}
			}
			if j <= end {
				j = end
				break
			}
			if j >= len(body) {
				break
			}
		}
		if j >= len(body) {
			break
		}
		i = j + 1
		for len(at) > 0 && at[0] < start {
			at = at[1:]
		}
		if len(at) > 0 && at[0] <= j {
			suspect = true
		}
		if !suspect {
			continue
		}
		lit := body[start : j+1]
		var v string
		if json.Unmarshal(lit, &v) != nil {
			continue
		}
		r := v
		for _, s := range secs {
			r = strings.ReplaceAll(r, s, "[redacted]")
		}
		if r != v {
			enc, _ := json.Marshal(r)
			out = append(append(out, body[last:start]...), enc...)
			last = j + 1
		}
	}
	if out == nil {
		return body
	}
	return append(out, body[last:]...)
}

// unhex is the value of a hex digit, -1 for another byte.
func unhex(b byte) int {
	switch {
	case b >= '0' && b <= '9':
		return int(b - '0')
	case b >= 'a' && b <= 'f':
		return int(b-'a') + 10
	case b >= 'A' && b <= 'F':
		return int(b-'A') + 10
	}
	return -1
}

// anyEscapeMaySpell reports whether one of body's escapes could stand for a
// byte of a secret (escapeMaySpell), or, when a secret is not all ASCII,
// whether body has an escape or a byte that is not ASCII. Escapes stand in
// strings only, one after another: taken from the left, each backslash
// starts one (of \\u0045, the first).
func anyEscapeMaySpell(body []byte, inSecret *[128]bool, ascii bool) bool {
	if !ascii {
		return slices.ContainsFunc(body, func(b byte) bool { return b == '\\' || b >= utf8.RuneSelf })
	}
	for k := 0; ; {
		n := bytes.IndexByte(body[k:], '\\')
		if n < 0 {
			return false
		}
		k += n + 1
		if escapeMaySpell(body[k:], inSecret, ascii) {
			return true
		}
		k++
		if k >= len(body) {
			return false
		}
	}
}

// escapeMaySpell reports whether the JSON escape whose backslash precedes
// esc could stand for a byte of a secret: one of the ASCII bytes inSecret
// marks, or, when a secret is not all ASCII, any character. An escape that
// is not JSON's counts as such, its string then failing to decode.
func escapeMaySpell(esc []byte, inSecret *[128]bool, ascii bool) bool {
	if !ascii || len(esc) == 0 {
		return true
	}
	var c byte
	switch esc[0] {
	case '"', '\\', '/':
		c = esc[0]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		if len(esc) < 5 {
			return true
		}
		// \u00XY: of an ASCII byte when X is below 8; any other spelling
		// stands for a character that is not ASCII, or is not JSON's.
		hi, lo := unhex(esc[3]), unhex(esc[4])
		switch {
		case esc[1] != '0' || esc[2] != '0':
			return unhex(esc[1]) < 0 || unhex(esc[2]) < 0 || hi < 0 || lo < 0
		case hi < 0 || lo < 0:
			return true
		case hi >= 8:
			return false
		}
		c = byte(hi<<4 | lo)
	default:
		return true
	}
	return inSecret[c]
}

// redactWith replaces in s each of secrets (those of 4 bytes or more, as
// everywhere here) with [redacted]; s is returned as it is when it holds
// none. The redaction of an error's strings, decoded or not.
func redactWith(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 && strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// redactedError replaces an error's text but keeps its chain for errors.Is.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// setQuery sets key=value in the query of URL u.
func setQuery(u, key, value string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	q := p.Query()
	q.Set(key, value)
	p.RawQuery = q.Encode()
	return p.String()
}
