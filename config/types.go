// Package config owns pagereply's YAML configuration: its types, defaults,
// ${VAR} expansion and validation with errors that name the offending key.
package config

import (
	"regexp"
	"text/template"
	"time"
)

// Config is the whole pagereply.yaml.
type Config struct {
	Redis   Redis   `yaml:"redis"`
	Graph   Graph   `yaml:"graph"`
	Pages   []Page  `yaml:"pages"`
	Worker  Worker  `yaml:"worker"`
	Webhook Webhook `yaml:"webhook"`
	API     API     `yaml:"api"`
	Log     Log     `yaml:"log"`
	Metrics Metrics `yaml:"metrics"`

	secretsInFile []string // SecretsInFile

	// unset are the problems of the keys whose ${VAR} is not set and that
	// ParseFor's uses let pass (Unset); unsetPaths holds every key whose
	// ${VAR} is not set, for validate: what depends on such a key is not
	// judged by its missing value.
	unset      []*FieldError
	unsetPaths map[string]bool
}

// Unset returns the keys whose ${VAR} is not set in the environment and
// that the caller of ParseFor or LoadFor does not use: each as the error a
// strict Load gives for it ("environment variable PAGE_TOKEN is not set"),
// naming the key and the variable, never a value. The keys keep their
// defaults (a string key is empty).
func (c *Config) Unset() []*FieldError { return c.unset }

// SecretsInFile returns the key paths of the secrets (tokens, the app secret,
// passwords) written in the file itself rather than taken from the
// environment with ${VAR}, in the file's order.
func (c *Config) SecretsInFile() []string { return c.secretsInFile }

// Redis says how to reach Redis: exactly one of URL, Sentinel or Cluster.
// When the file gives none of them, URL is DefaultRedisURL.
type Redis struct {
	// URL is redis://[[user]:password@]host:port[/db], or rediss:// for TLS.
	URL      string    `yaml:"url"`
	Sentinel *Sentinel `yaml:"sentinel"`
	Cluster  *Cluster  `yaml:"cluster"`
	// TLS turns on TLS for Sentinel and Cluster (a URL says it with rediss://).
	TLS bool `yaml:"tls"`
}

// Sentinel is a Redis Sentinel set-up.
type Sentinel struct {
	Master           string   `yaml:"master"`
	Addrs            []string `yaml:"addrs"`
	Password         string   `yaml:"password"`
	SentinelPassword string   `yaml:"sentinel_password"`
	DB               int      `yaml:"db"`
}

// Cluster is a Redis Cluster (database 0 only).
type Cluster struct {
	Addrs    []string `yaml:"addrs"`
	Password string   `yaml:"password"`
}

// Graph configures the Graph API client.
type Graph struct {
	// BaseURL defaults to https://graph.facebook.com.
	BaseURL string `yaml:"base_url"`
	// Version defaults to v25.0.
	Version string `yaml:"version"`
	// AppSecret, when set, adds appsecret_proof to every call.
	AppSecret string `yaml:"app_secret"`
	// Timeout is per call; defaults to 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Rate is a number of events per period, written "10/s", "600/m" or "36000/h".
type Rate struct {
	N   int
	Per time.Duration
}

// PerSecond returns the rate as events per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.N) / r.Per.Seconds()
}

// Reply kinds for Page.ReplyTo.
const (
	ReplyComments      = "comments"
	ReplyPosts         = "posts"
	ReplyConversations = "conversations"
)

// Page is one Facebook Page pagereply answers for.
type Page struct {
	ID          string `yaml:"id"`
	AccessToken string `yaml:"access_token"`
	// Schedule is a robfig/cron spec; defaults to "@every 1m".
	Schedule string `yaml:"schedule"`
	// Rate is sends per period for this Page across all workers; defaults to 10/s.
	Rate Rate `yaml:"rate"`
	// Burst is sends allowed at once above the rate; defaults to 1. An
	// explicit 0 allows none: sends are spaced evenly at the rate (in
	// redis_rate terms a Burst of 1; redis_rate's Burst 0 allows nothing).
	Burst int `yaml:"burst"`
	// ReplyTo lists the kinds replied to (ReplyComments, ReplyPosts,
	// ReplyConversations); defaults to [comments]. An explicit empty list is
	// an error.
	ReplyTo []string `yaml:"reply_to"`
	// MaxAge is the reply window for comments and posts; defaults to and is at most 168h.
	MaxAge time.Duration `yaml:"max_age"`
	// ScanPosts is how far back the poll looks at posts; defaults to 720h.
	ScanPosts time.Duration `yaml:"scan_posts"`
	// AdsPosts makes the poll read the Page's ads posts too (Graph's
	// /{page-id}/ads_posts), for their comments: posts made for ads in Ads
	// Manager and never published to the Page are not in its feed, and
	// without it their comments come only through the webhook. The token
	// needs pages_manage_ads, pages_show_list and ads_management, of someone
	// with the ADVERTISE task on the Page. Off by default; it needs comments
	// in reply_to.
	AdsPosts bool `yaml:"ads_posts"`
	// Reels makes the poll read the Page's Reels too (Graph's
	// /{page-id}/video_reels), for their comments: the feed does not list
	// Reels, and without it their comments come only through the webhook.
	// Every Reel created inside scan_posts, up to the newest 50, has its
	// comments read at every poll: Meta does not say a comment moves a
	// Video's updated_time. Off by default; it needs comments in reply_to.
	Reels bool `yaml:"reels"`
	// SkipHidden: a comment the Page hid (spam, abuse, a competitor's
	// link) gets no private reply. The poll and the webhook's items ask
	// Graph for the comment's is_hidden too, and a hide the webhook
	// delivers before the reply is sent marks the comment in the ledger so
	// that the worker does not send it. Off by default (hidden comments
	// are answered like any other); it needs comments in reply_to.
	SkipHidden bool `yaml:"skip_hidden"`
	// OneReplyPerPerson: a person who comments (or posts on the Page) several
	// times within the reply window gets one private reply, to the first of
	// their comments to be sent; the others are recorded as answered by it.
	// Off by default: every eligible comment gets its reply.
	OneReplyPerPerson bool `yaml:"one_reply_per_person"`
	// PersonGap is the least time between two replies of the Page to one
	// person (the writer of a comment or post, a conversation's person);
	// off (0) by default. Every eligible comment still gets
	// its reply, but a person who comments many times at once does not get
	// them all back to back in their one Messenger thread: Meta may rate
	// limit a thread that gets too many messages, and identical texts in a
	// row are what its anti-spam looks for. Off by default: a reply due too
	// soon goes back to the queue and is tried again at its person's time,
	// so a person's N waiting replies cost about N²/2 put-backs, and each of
	// their replies waits a gap more than the last.
	PersonGap time.Duration `yaml:"person_gap"`
	// Rules are tried in order; the first that matches the message gives the
	// text.
	Rules []Rule `yaml:"rules"`
	// DefaultText is the template used when no rule matches; if empty, the
	// Page replies only on a rule match.
	DefaultText string `yaml:"default_text"`

	defaultTmpl *template.Template
}

// Rule is one "match → text" rule; the first matching rule wins.
type Rule struct {
	// Match is a Go regexp looked for in the message; required.
	Match string `yaml:"match"`
	// Text is a text/template over TemplateData; required. {{range}},
	// {{template}} and {{define}} are not allowed.
	Text string `yaml:"text"`

	re   *regexp.Regexp
	tmpl *template.Template
}

// TemplateData is what reply templates see. Page.Render fills an empty
// FirstName from Name and an empty PageID from the Page; a name that shows
// nothing is empty, and where a template prints an empty name as is
// ({{.FirstName}}, {{.Name}}) the spaces around it are tidied.
type TemplateData struct {
	FirstName string
	Name      string
	UserID    string
	Message   string
	PageID    string
	PostID    string
	CommentID string
}

// Worker configures the worker role.
type Worker struct {
	// Concurrency defaults to 20.
	Concurrency int `yaml:"concurrency"`
	// MaxRetry defaults to 10; an explicit 0 means no retries.
	MaxRetry int `yaml:"max_retry"`
}

// Webhook configures Meta's webhook on the api role.
type Webhook struct {
	// VerifyToken enables GET/POST /webhook when set.
	VerifyToken string `yaml:"verify_token"`
}

// API configures the api role.
type API struct {
	// Addr defaults to 127.0.0.1:8080.
	Addr string `yaml:"addr"`
	// Tokens are the bearer tokens accepted by /v1 and /monitor.
	Tokens []string `yaml:"tokens"`
	// Monitor mounts the asynq web monitor at /monitor/; defaults to true.
	Monitor *bool `yaml:"monitor"`
	// MonitorReadOnly hides the monitor's write actions; defaults to true.
	MonitorReadOnly *bool `yaml:"monitor_read_only"`
}

// Metrics shapes the series of /metrics.
type Metrics struct {
	// PageBuckets keeps the buckets of the two per-Page histograms
	// (pagereply_poll_seconds, pagereply_enqueue_to_send_seconds); defaults
	// to true. False keeps only their _sum, _count and le="+Inf" bucket: 52
	// fewer series per Page, for a config of thousands of Pages.
	PageBuckets *bool `yaml:"page_buckets"`
}

// Log configures log/slog output.
type Log struct {
	// Level is debug, info, warn or error; defaults to info.
	Level string `yaml:"level"`
	// Format is json or text; defaults to json.
	Format string `yaml:"format"`
}
