package main

import (
	"strconv"
	"strings"

	"github.com/pagereply/pagereply/config"
)

// The keys each one-off command uses, for config.LoadFor: a ${VAR} not set
// in the environment is an error only at a key the command uses, so that an
// operator's shell on a bastion can run status with no Page token set, or
// poll one Page without the other Pages' tokens and the API's tokens. check
// and the roles (serve, worker, scheduler, api) use every key: nil.

// usesRedisAndPageIDs is status's and resume's: Redis, the log and the Pages' ids
// (their counters and pauses are read by id).
func usesRedisAndPageIDs(_ *config.Config, key string) bool {
	if _, rest, ok := pageKey(key); ok {
		return rest == "id"
	}
	return keyUnder(key, "redis", "log")
}

// usesPoll is poll's of page: all but the API, the webhook and metrics, and
// of the other Pages only what the poll's start records of each (its id and
// pacing: rateRecord); their tokens, texts and the like may be unset.
func usesPoll(page string) func(*config.Config, string) bool {
	return func(c *config.Config, key string) bool {
		if i, rest, ok := pageKey(key); ok {
			if i < len(c.Pages) && c.Pages[i].ID == page {
				return true
			}
			return rest == "id" || rest == "rate" || rest == "burst" || rest == "person_gap"
		}
		return !keyUnder(key, "api", "webhook", "metrics")
	}
}

// usesEnqueue is enqueue's of a reply of page: Redis, the log, the worker's
// keys (max_retry goes into the task), the Pages' ids and the Page's keys,
// graph's keys for a conversation reply (it reads the conversation's
// person), and every secret (secretKey): the text and the ids given are
// checked against each before anything is queued (config.TextSecret,
// IDSecret), and a secret whose variable is unset would be missed: a
// --text holding another Page's token would go to the person, a --comment
// holding one would become a task's id, shown in the monitor.
func usesEnqueue(page string, conversation bool) func(*config.Config, string) bool {
	return func(c *config.Config, key string) bool {
		if secretKey(key) {
			return true
		}
		if i, rest, ok := pageKey(key); ok {
			if i < len(c.Pages) && c.Pages[i].ID == page {
				return true
			}
			return rest == "id"
		}
		return keyUnder(key, "redis", "log", "worker") || (conversation && keyUnder(key, "graph"))
	}
}

// secretKey reports whether key holds one of the secrets a reply's text or
// id is checked against (config.Config.Secrets): the Pages' tokens, the app
// secret, the API's tokens, the webhook's verify token; Redis's passwords
// are under redis, which every command uses.
func secretKey(key string) bool {
	if _, rest, ok := pageKey(key); ok {
		return rest == "access_token"
	}
	return key == "graph.app_secret" || key == "webhook.verify_token" || keyUnder(key, "api.tokens")
}

// keyUnder reports whether key is one of prefixes or a key under one.
func keyUnder(key string, prefixes ...string) bool {
	for _, p := range prefixes {
		if key == p || strings.HasPrefix(key, p+".") || strings.HasPrefix(key, p+"[") {
			return true
		}
	}
	return false
}

// pageKey splits a key under pages[i] into i and the rest ("access_token",
// "rules[0].text"; "" for pages[i] itself); ok is false for any other key.
func pageKey(key string) (i int, rest string, ok bool) {
	s, found := strings.CutPrefix(key, "pages[")
	if !found {
		return 0, "", false
	}
	n, after, found := strings.Cut(s, "]")
	if !found {
		return 0, "", false
	}
	i, err := strconv.Atoi(n)
	if err != nil {
		return 0, "", false
	}
	return i, strings.TrimPrefix(after, "."), true
}
