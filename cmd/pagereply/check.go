package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pagereply/pagereply/config"
)

func init() {
	register("check", "load the configuration and say whether it is valid, without Redis or Graph", runCheck)
}

// runCheck loads a config the way every other command does (its ${VAR}s
// expanded from the environment) and reports what it found, touching neither
// Redis nor Graph: for a deploy pipeline, or before a restart. Exit 0 when the
// config is valid, 2 when it is not (the same code serve gives it).
func runCheck(_ context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "check", "check -c FILE [--roles scheduler,worker,api] [--insecure]\n\n"+
		"Exit status: 0 valid (warnings, if any, printed); 2 the file is missing or unreadable, or invalid for the roles\n"+
		"(each problem named), or bad usage; 1 another error.",
		"pagereply check -c pagereply.yaml")
	cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
	rolesFlag := fs.String("roles", "scheduler,worker,api", "the roles it will run: the api role also needs api.tokens")
	insecure := fs.Bool("insecure", false, "the api role will run with --insecure (no api.tokens needed)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	roles, err := parseRoles(*rolesFlag)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply check: %v\n", err)
		return exitUsage
	}
	path := configPath(env, *cfgPath)
	cfg, code := loadConfig(env, "check", path)
	if cfg == nil {
		return code
	}
	if err := checkRoles(&app{cfg: cfg}, roles, roleOptions{insecure: *insecure}); err != nil {
		fmt.Fprintf(env.stderr, "pagereply check: config %s: %v\n", path, err)
		return exitUsage
	}
	// Graph's URL too: the one a first try gets wrong (the sandbox's port,
	// or left out and so Meta's). It holds no user, password or query.
	fmt.Fprintf(env.stdout, "%s: valid; %s, Redis %s, Graph %s (%s), worker concurrency %d, max_retry %d, webhook %s, API tokens %d\n",
		path, plural(len(cfg.Pages), "Page", "Pages"), cfg.Redis.Describe(), cfg.Graph.BaseURL, cfg.Graph.Version, cfg.Worker.Concurrency, cfg.Worker.MaxRetry,
		onOff(cfg.Webhook.VerifyToken != ""), len(cfg.API.Tokens))
	for _, p := range cfg.Pages {
		fmt.Fprintf(env.stdout, "page %s: rate %s burst %d, %s, schedule %q, replies to %s, %s%s%s\n",
			p.ID, p.Rate, p.Burst, personGap(&p), p.Schedule,
			strings.Join(replyKinds(&p), ", "), plural(len(p.Rules), "rule", "rules"), defaultText(&p), pageOptions(&p))
	}
	for _, id := range textlessPages(cfg.Pages) {
		fmt.Fprintf(env.stdout, "warning: page %s has no rules and no default_text: polls and webhook deliveries queue no replies for it\n", id)
	}
	for i, p := range cfg.Pages {
		if p.ID == exampleConfigPageID {
			fmt.Fprintf(env.stdout, "warning: pages[%d].id is the example file's Page id (%s): put in your Page's, the id Graph answers for its token (README, \"Against Meta\")\n", i, p.ID)
		}
		for j, r := range p.Rules {
			if slices.Contains(exampleRuleTexts, r.Text) {
				fmt.Fprintf(env.stdout, "warning: pages[%d].rules[%d].text is the example file's (%q): the Page's visitors would get it; write your own, or drop the rule\n", i, j, r.Text)
			}
		}
	}
	if cfg.Redis.UserWithoutPassword() {
		fmt.Fprintf(env.stdout, "warning: redis.url names a user and no password (redis://NAME@host): a password goes after a colon, redis://:PASSWORD@host or redis://USER:PASSWORD@host\n")
	}
	literal := cfg.SecretsInFile()
	for i, p := range literal {
		if i == secretWarningsMax && len(literal) > secretWarningsMax+1 {
			// An agency's config of thousands of Pages, every token
			// written in it: one line for the rest, not thousands.
			fmt.Fprintf(env.stdout, "warning: %d more secrets are written in the file (%s … %s): take them from the environment with ${VAR} too\n",
				len(literal)-i, p, literal[len(literal)-1])
			break
		}
		fmt.Fprintf(env.stdout, "warning: %s is a secret written in the file: take it from the environment with ${VAR} (deploy/README.md, Secrets)\n", p)
	}
	return exitOK
}

// exampleConfigPageID and exampleRuleTexts are pagereply.example.yaml's
// Page id and rule texts, which check warns of in a copy that kept them
// (README's "Against Meta" starts from one): the id is another Page, and the
// rules tell real people the example's claims ("we are open 9 to 5").
const exampleConfigPageID = "1983306698425200"

var exampleRuleTexts = []string{
	"Hi {{.FirstName}}, prices are on our site.",
	"Hi {{.FirstName}}, we are open 9 to 5, Monday to Friday.",
}

// secretWarningsMax is how many secrets written in the file check names a
// line each; past it, one line counts the others.
const secretWarningsMax = 10

// personGap describes the Page's person_gap for check's summary.
func personGap(p *config.Page) string {
	if p.PersonGap <= 0 {
		return "person_gap off"
	}
	return "person_gap " + p.PersonGap.String()
}

// pageOptions names the Page's opt-in features that are on (its optional
// reads, and one reply per person), as the config keys them and in its
// order, for check's summary: nothing when none is.
func pageOptions(p *config.Page) string {
	var out string
	if p.AdsPosts {
		out += ", ads_posts"
	}
	if p.Reels {
		out += ", reels"
	}
	if p.SkipHidden {
		out += ", skip_hidden"
	}
	if p.OneReplyPerPerson {
		out += ", one_reply_per_person"
	}
	return out
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func replyKinds(p *config.Page) []string {
	var out []string
	for _, k := range []string{config.ReplyComments, config.ReplyPosts, config.ReplyConversations} {
		if p.Replies(k) {
			out = append(out, k)
		}
	}
	return out
}

func defaultText(p *config.Page) string {
	if p.DefaultText == "" {
		return ", no default_text"
	}
	return ", a default_text"
}

// plural is n with one or many, as n asks.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
