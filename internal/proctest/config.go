package proctest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Config is a pagereply configuration file, written by WriteConfig. Zero
// fields are left out of the file, so pagereply's defaults apply.
type Config struct {
	// RedisURL is redis.url.
	RedisURL string
	// GraphURL is graph.base_url (the sandbox's URL).
	GraphURL string
	// AppSecret is graph.app_secret.
	AppSecret string
	// GraphTimeout is graph.timeout.
	GraphTimeout time.Duration
	// Pages are the pages list.
	Pages []Page
	// Concurrency and MaxRetry are worker.concurrency and worker.max_retry
	// (MaxRetry is written only when Concurrency or MaxRetry is set).
	Concurrency, MaxRetry int
	// VerifyToken is webhook.verify_token.
	VerifyToken string
	// APIAddr and APITokens are api.addr and api.tokens.
	APIAddr   string
	APITokens []string
	// LogLevel is log.level; logs are JSON. If empty, debug (the tests read
	// the poll lines).
	LogLevel string
}

// Page is one item of a Config's pages.
type Page struct {
	ID, AccessToken string
	// Schedule is a cron spec, e.g. "@every 2s".
	Schedule string
	// Rate is e.g. "20/s"; Burst is written when Rate is set.
	Rate  string
	Burst int
	// ReplyTo lists comments, posts, conversations.
	ReplyTo []string
	// Rules are tried in order; DefaultText answers when none matches.
	Rules       []Rule
	DefaultText string
}

// Rule is one "match → text" rule of a Page.
type Rule struct{ Match, Text string }

// YAML returns the configuration file's text.
func (c Config) YAML() string {
	var b strings.Builder
	q := strconv.Quote // a JSON-style double-quoted string is valid YAML for ASCII text
	fmt.Fprintf(&b, "redis:\n  url: %s\n", q(c.RedisURL))
	b.WriteString("graph:\n")
	if c.GraphURL != "" {
		fmt.Fprintf(&b, "  base_url: %s\n", q(c.GraphURL))
	}
	if c.AppSecret != "" {
		fmt.Fprintf(&b, "  app_secret: %s\n", q(c.AppSecret))
	}
	if c.GraphTimeout > 0 {
		fmt.Fprintf(&b, "  timeout: %s\n", c.GraphTimeout)
	}
	b.WriteString("pages:\n")
	for _, p := range c.Pages {
		fmt.Fprintf(&b, "  - id: %s\n    access_token: %s\n", q(p.ID), q(p.AccessToken))
		if p.Schedule != "" {
			fmt.Fprintf(&b, "    schedule: %s\n", q(p.Schedule))
		}
		if p.Rate != "" {
			fmt.Fprintf(&b, "    rate: %s\n    burst: %d\n", p.Rate, p.Burst)
		}
		if len(p.ReplyTo) > 0 {
			fmt.Fprintf(&b, "    reply_to: [%s]\n", strings.Join(p.ReplyTo, ", "))
		}
		if len(p.Rules) > 0 {
			b.WriteString("    rules:\n")
			for _, r := range p.Rules {
				fmt.Fprintf(&b, "      - match: %s\n        text: %s\n", q(r.Match), q(r.Text))
			}
		}
		if p.DefaultText != "" {
			fmt.Fprintf(&b, "    default_text: %s\n", q(p.DefaultText))
		}
	}
	if c.Concurrency > 0 || c.MaxRetry > 0 {
		b.WriteString("worker:\n")
		if c.Concurrency > 0 {
			fmt.Fprintf(&b, "  concurrency: %d\n", c.Concurrency)
		}
		fmt.Fprintf(&b, "  max_retry: %d\n", c.MaxRetry)
	}
	if c.VerifyToken != "" {
		fmt.Fprintf(&b, "webhook:\n  verify_token: %s\n", q(c.VerifyToken))
	}
	if c.APIAddr != "" || len(c.APITokens) > 0 {
		b.WriteString("api:\n")
		if c.APIAddr != "" {
			fmt.Fprintf(&b, "  addr: %s\n", q(c.APIAddr))
		}
		if len(c.APITokens) > 0 {
			qs := make([]string, len(c.APITokens))
			for i, tok := range c.APITokens {
				qs[i] = q(tok)
			}
			fmt.Fprintf(&b, "  tokens: [%s]\n", strings.Join(qs, ", "))
		}
	}
	level := c.LogLevel
	if level == "" {
		level = "debug"
	}
	fmt.Fprintf(&b, "log:\n  level: %s\n  format: json\n", level)
	return b.String()
}

// WriteConfig writes c to pagereply.yaml in a new directory of t.TempDir and
// returns its path.
func WriteConfig(t testing.TB, c Config) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pagereply.yaml")
	if err := os.WriteFile(path, []byte(c.YAML()), 0o600); err != nil {
		t.Fatalf("proctest: write config: %v", err)
	}
	return path
}
