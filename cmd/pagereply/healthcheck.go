package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// defaultHealthURL is the api role's liveness route on the default port.
const defaultHealthURL = "http://127.0.0.1:8080/healthz"

func init() {
	register("healthcheck", "probe a health route and exit 0 when it answers 2xx (for images without a shell)", runHealthcheck)
}

// runHealthcheck GETs a URL once and exits 0 on a 2xx answer, 1 otherwise: the
// contract of Docker's HEALTHCHECK (where 2 is reserved), for distroless images
// that have no curl or wget.
func runHealthcheck(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "healthcheck", "healthcheck [--url URL] [--timeout 3s]\n\n"+
		"Exit status: 0 the route answered 2xx; 1 otherwise (printing the status and the answer's reason), bad usage\n"+
		"included: Docker's HEALTHCHECK reserves 2.",
		"pagereply healthcheck --url http://127.0.0.1:9090/readyz")
	rawURL := fs.String("url", defaultHealthURL, "the http(s) URL to GET: /healthz or /readyz of api.addr or of --health-addr")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	// Bad usage exits 1 too, not 2: Docker reserves 2, and a HEALTHCHECK
	// with a mistyped flag is a check that fails.
	if code := parseFlags(fs, args); code >= 0 {
		return min(code, exitError)
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fmt.Fprintln(env.stderr, "pagereply healthcheck: --url must be an http:// or https:// URL with a host")
		return exitError
	}
	if *timeout <= 0 {
		fmt.Fprintln(env.stderr, "pagereply healthcheck: --timeout must be positive")
		return exitError
	}
	// Never print a password a URL may hold.
	shown := u.Redacted()

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply healthcheck: GET %s: %v\n", shown, err)
		return exitError
	}
	client := &http.Client{
		// A probe talks to its own process: no proxy from the environment, and a
		// redirect is an answer (not 2xx), not something to follow.
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply healthcheck: GET %s: %v\n", shown, unwrapURLError(err))
		return exitError
	}
	// The body only for an error answer's reason: no connection is kept
	// (DisableKeepAlives), so nothing past it is drained.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(env.stderr, "pagereply healthcheck: GET %s: %s%s\n", shown, resp.Status, probeReason(body))
		return exitError
	}
	fmt.Fprintf(env.stdout, "ok: GET %s: %s\n", shown, resp.Status)
	return exitOK
}

// probeReason returns ": <message>" of a probe's error answer in the API's
// shape ({"error":{"message":"..."}}: /readyz says why it is not ready, such
// as "redis refuses writes: out of memory ..."), so that docker's health log
// and a shell show it; "" for any other body. The message is cut at 200
// bytes and kept to printable characters on one line: the body is another
// process's.
func probeReason(body []byte) string {
	var b struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &b) != nil || b.Error.Message == "" {
		return ""
	}
	msg := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, b.Error.Message)
	if len(msg) > 200 {
		msg = msg[:200]
		for !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
		msg += "..."
	}
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// unwrapURLError drops *url.Error's "Get \"URL\":" prefix, which would repeat
// the URL with any password it holds.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
