package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pagereply/pagereply/api"
	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

func init() {
	register("enqueue", "enqueue one reply (to a comment, a visitor post or a conversation)", runEnqueue)
}

// runEnqueue queues one reply through the same deduplicating enqueue as the
// poll and the API. Exit 0 when queued; 1 when the target already has a reply
// queued, sent, or refused for good, or the Page answered the conversation
// already (nothing is done, the message says which); 2 on bad flags,
// configuration or input the API answers 400 to.
func runEnqueue(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "enqueue", "enqueue -c FILE --page ID (--comment ID | --post ID | --conversation ID) --text TEXT\n\n"+
		"Exit status: 0 queued; 1 the target already has a reply queued or sent, Graph refused it for good or the webhook marked it so (the Page hid it, or it was removed), or the Page answered the conversation's latest message already (nothing done), for --conversation the Page is paused (not read), or an error; 2 bad usage or input the API answers 400 to (a blank text, a text holding one of the configuration's secrets, a comment or post id in a shape no Graph id has (a comment's is <post-id>_<comment-id>, a post's <page-id>_<post-id>), an id (--comment, --post, --conversation) holding one, a conversation outside the messaging window, one Graph cannot read, or one that is not the Page's with one person).",
		`pagereply enqueue -c pagereply.yaml --page 1983306698425200 --comment 122100000000000019_1000000000000599 --text "Hi! Prices are on our site."`)
	cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
	page := fs.String("page", "", "id of a configured Page (required)")
	comment := fs.String("comment", "", "comment id to reply to privately, as Graph gives it: <post>_<comment>, without the Page's id")
	post := fs.String("post", "", "visitor post id to reply to privately, as Graph gives it: <page-id>_<post-id>")
	conv := fs.String("conversation", "", "conversation id (t_...): answers the person's latest message")
	text := fs.String("text", "", "the reply's text, at most 2000 characters (required)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(env.stderr, "pagereply enqueue: "+format+"\n", a...)
		return exitUsage
	}
	n := 0
	for _, v := range []string{*comment, *post, *conv} {
		if v != "" {
			n++
		}
	}
	switch {
	case *page == "":
		return usage("--page is required")
	case n == 0:
		return usage("give one of --comment, --post or --conversation")
	case n > 1:
		return usage("give only one of --comment, --post and --conversation")
	}
	body, err := config.CheckText(*text)
	switch {
	case errors.Is(err, config.ErrTextEmpty):
		return usage("--text is required and must not be blank")
	case errors.Is(err, config.ErrTextTooLong):
		return usage("--text: the reply text is longer than %d characters (%d)",
			config.MaxTextRunes, utf8.RuneCountInString(strings.TrimSpace(*text)))
	case err != nil:
		// CheckText has no other errors today; keep a new one's words, not
		// its package prefix, beside the flag's name.
		return usage("--text: %s", strings.TrimPrefix(err.Error(), "config: "))
	}
	cfg, code := loadConfigFor(env, "enqueue", configPath(env, *cfgPath), usesEnqueue(*page, *conv != ""))
	if cfg == nil {
		return code
	}
	pg, ok := cfg.Page(*page)
	if !ok {
		return usage("%s", unknownPage(cfg, *page))
	}
	if key, ok := cfg.TextSecret(body); ok {
		return usage("--text holds the value of %s: the reply would send that secret to the person it answers", key)
	}
	for _, f := range []struct {
		name, v string
		kind    tasks.Kind
	}{{"--comment", *comment, tasks.KindComment}, {"--post", *post, tasks.KindPost}} {
		if f.v == "" {
			continue
		}
		if err := tasks.CheckShape(f.kind, f.v); err != nil {
			// As the API answers it, before the secrets are looked for,
			// and without the value.
			return usage("%s is %v", f.name, err)
		}
	}
	for _, f := range []struct{ name, v string }{{"--comment", *comment}, {"--post", *post}, {"--conversation", *conv}} {
		if key, ok := cfg.IDSecret(f.v); ok && f.v != "" {
			// Not a Graph id: queued, it would be the task's id and the
			// ledger's key, in the monitor and the logs.
			return usage("%s holds the value of %s, not a Graph id", f.name, key)
		}
	}
	a, err := newApp(cfg, newLogger(cfg.Log, env.stderr))
	if err != nil {
		return usage("%v", err)
	}
	defer a.Close()
	// Redis out of reach is this command's error, said once below.
	tasks.SetRedisLoggerAt(a.log, slog.LevelDebug)
	if err := a.checkRedisConfig(ctx); err != nil {
		return usage("%v", err)
	}

	reply := tasks.Reply{PageID: pg.ID, Text: body, Source: tasks.SourceAPI}
	var kind tasks.Kind
	var id, flagName string
	switch {
	case *comment != "":
		kind, id, flagName = tasks.KindComment, *comment, "--comment"
	case *post != "":
		kind, id, flagName = tasks.KindPost, *post, "--post"
	default:
		kind, id, flagName = tasks.KindMessage, *conv, "--conversation"
	}
	t, err := tasks.ParseTarget(string(kind) + ":" + id)
	if err != nil {
		return usage("%s: %q is not a valid Graph id: %s", flagName, id, tasks.IDChars)
	}
	reply.Target = t
	if *conv != "" {
		// The read honours the Page's pause and conversation read schedule,
		// and a throttled or refused read pauses the Page, as the API's does.
		if err := api.GuardedConversationReply(ctx, a.ledger, a.metrics, a.graph, pg, *conv, time.Now, &reply,
			enqueueReadWait, a.log.With(slog.String("page_id", pg.ID))); err != nil {
			var ce *api.ConversationError
			if errors.As(err, &ce) && ce.Answered {
				// As a target already sent: nothing to do, exit 1. The
				// Page's answer is recorded as the API and the worker
				// record it (status and GET /v1/replies/{id} show it sent).
				if ce.Answer != nil {
					if rerr := worker.RecordAnswered(ctx, a.ledger, &reply, ce.Answer); rerr != nil {
						fmt.Fprintf(env.stderr, "pagereply enqueue: --conversation %s: %v; recording the Page's answer failed: %v (%s)\n",
							*conv, err, rerr, redisHint(cfg.Redis, rerr))
						return exitError
					}
				}
				fmt.Fprintf(env.stderr, "pagereply enqueue: --conversation %s: %v; nothing done\n", *conv, err)
				return exitError
			}
			fmt.Fprintf(env.stderr, "pagereply enqueue: --conversation %s: %v\n", *conv, err)
			if h := graphRefusalHint(cfg, pg.ID, err, "the conversation read"); h != "" {
				fmt.Fprintf(env.stderr, "pagereply enqueue: %s\n", h)
			} else if graph.NoAnswer(err) {
				fmt.Fprintf(env.stderr, "pagereply enqueue: %s, then try again\n", graph.NoAnswerHint(cfg.Graph.BaseURL))
			}
			if pe := (*tasks.PausedError)(nil); errors.As(err, &pe) {
				// What to do, as pagereply poll says: wait, or lift it.
				fmt.Fprintf(env.stderr, "pagereply enqueue: %s\n", pauseHint(pg.ID, pe.Reason))
			} else if d, reason, perr := a.ledger.Paused(ctx, pg.ID); perr == nil && d > 0 {
				// The read itself paused the Page (a refused token, a
				// throttle): every reply of the Page waits now, not only
				// this one; as pagereply poll says it.
				fmt.Fprintf(env.stderr, "pagereply enqueue: page %s is paused now for %s; its replies wait until the pause ends: %s\n",
					pg.ID, d.Round(time.Second), pauseHint(pg.ID, reason))
			}
			if errors.As(err, &ce) && ce.BadInput {
				return exitUsage
			}
			return exitError
		}
	}
	out, info, err := a.enq.EnqueueOn(ctx, pg, reply)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply enqueue: %v (%s)\n", err, redisHint(cfg.Redis, err))
		return exitError
	}
	target := reply.Target.String()
	switch out {
	case tasks.Enqueued:
		fmt.Fprintf(env.stdout, "queued %s (%s) for page %s\n", target, info.State, pg.ID)
		if templateLike(body) {
			// The config's texts are templates, --text is not (as the
			// API's text): a user who wrote {{.FirstName}} expected the
			// name. Said, not refused: the text may mean it.
			fmt.Fprintf(env.stderr, "pagereply enqueue: note: --text is sent as written, not as a template: the person gets its {{...}} as those characters (only the configuration's rules and default_text fill in {{.FirstName}})\n")
		}
		// A comment or post reply is queued on a paused Page too, and
		// waits: say so, and what to do (a failed read is no reason to
		// fail the enqueue that succeeded).
		if d, reason, err := a.ledger.Paused(ctx, pg.ID); err == nil && d > 0 {
			fmt.Fprintf(env.stderr, "pagereply enqueue: page %s is paused for %s (%s): the reply is sent once the pause ends; %s\n",
				pg.ID, d.Round(time.Second), reason, pauseHint(pg.ID, reason))
		}
		return exitOK
	case tasks.AlreadyQueued:
		fmt.Fprintf(env.stderr, "pagereply enqueue: %s already has a reply queued (or sent a moment ago); nothing done\n", target)
	case tasks.AlreadySent:
		fmt.Fprintf(env.stderr, "pagereply enqueue: %s already has a reply (sent); nothing done\n", target)
	case tasks.AlreadyFailed:
		fmt.Fprintf(env.stderr, "pagereply enqueue: %s; nothing done\n", api.FailedForGood(ctx, a.ledger, pg.ID, reply.Target))
	}
	return exitError
}

// templateLike reports whether text holds a template action, {{...}}.
func templateLike(text string) bool {
	i := strings.Index(text, "{{")
	return i >= 0 && strings.Contains(text[i+2:], "}}")
}

// enqueueReadWait is the longest pagereply enqueue --conversation waits for
// its Page's next conversation read slot (a command, unlike an API request,
// can wait a little longer).
const enqueueReadWait = 10 * time.Second

// redisHint is what to check after a command's Redis call failed with err:
// whether Redis is up, or, when it answered but refused the command for a
// state of its own for as long as it lasts (full, a read-only replica, a
// failed snapshot, too few replicas), that state: "is Redis up?" is the
// wrong question then.
func redisHint(r config.Redis, err error) string {
	if tasks.RedisFull(err) {
		return "Redis is at its maxmemory and refuses writes: free memory or raise maxmemory, then try again"
	}
	if h, ok := redisStateHints[tasks.RedisStateCode(err)]; ok {
		return "Redis at " + r.Describe() + " " + h
	}
	return r.UpHint()
}

// redisStateHints are redisHint's words for Redis's answers that say its
// state, by their code.
var redisStateHints = map[string]string{
	"READONLY":   "is a read-only replica and refuses writes (redis.url names a replica, or a master a failover demoted): point redis.url at the master, or use redis.sentinel, then try again",
	"MISCONF":    "refuses writes because its last RDB snapshot failed (stop-writes-on-bgsave-error): free disk space or fix its dir (see Redis's log), then try again",
	"NOREPLICAS": "refuses writes with fewer replicas than its min-replicas-to-write: bring its replicas back, then try again",
}
