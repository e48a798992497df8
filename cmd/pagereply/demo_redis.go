package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// The demo given --redis runs every role on that database: its worker takes
// whatever is in asynq's "replies" and "polls" queues, and its scheduler and
// API write there. asynq's key names are fixed ("asynq:{replies}:..."; the
// server and queue registries are global), so the demo cannot be fenced off
// from a deployment sharing the database: it refuses one that holds anything
// not its own.

// demoMarker says a database is the demo's: the set of the Page ids demo runs
// have seeded there. The demo writes it before anything else, on a database
// that held no asynq or pagereply key.
const demoMarker = tasks.DefaultPrefix + "demo"

// asynqServers is asynq's registry of running servers (base.AllServers): a
// sorted set scored by when each server's last heartbeat expires.
const asynqServers = "asynq:servers"

// demoTaskTypes are the task types whose payloads name their Page.
var demoTaskTypes = []string{tasks.TypeReply, tasks.TypePoll, tasks.TypeWebhookItem}

// demoListPage is the page size of the task listings.
const demoListPage = 500

// foreignData returns why the demo must not use rdb's database (the first
// thing found that is not the demo's), or "" when it may: the database holds
// no asynq or pagereply key, or only what demo runs left there. It only reads.
func foreignData(ctx context.Context, rdb redis.UniversalClient, insp *asynq.Inspector) (string, error) {
	seeded, err := rdb.SMembers(ctx, demoMarker).Result()
	if err != nil {
		return "", fmt.Errorf("read %s: %w", demoMarker, err)
	}
	if len(seeded) == 0 {
		for _, match := range []string{"asynq:*", tasks.DefaultPrefix + "*"} {
			key, err := firstKey(ctx, rdb, match)
			if err != nil {
				return "", err
			}
			if key != "" {
				return "it holds the keys of another pagereply or asynq deployment, like " + key, nil
			}
		}
		return "", nil
	}

	// The demo's database; a deployment may have joined it since.
	now := strconv.FormatInt(time.Now().Unix(), 10)
	live, err := rdb.ZCount(ctx, asynqServers, "("+now, "+inf").Result()
	if err != nil {
		return "", fmt.Errorf("read %s: %w", asynqServers, err)
	}
	if live > 0 {
		return "a worker is running on it: another demo or a deployment (a demo stopped a few seconds ago still counts: try again)", nil
	}
	queues, err := insp.Queues()
	if err != nil {
		return "", fmt.Errorf("list queues: %w", err)
	}
	for _, q := range queues {
		if q != tasks.QueueReplies && q != tasks.QueuePolls {
			return "it holds asynq queue " + q + " of another application", nil
		}
		why, err := foreignTask(q, insp, seeded)
		if why != "" || err != nil {
			return why, err
		}
	}
	var why string
	err = scanKeys(ctx, rdb, tasks.DefaultPrefix+"*", func(key string) bool {
		if key == demoMarker {
			return true
		}
		page, ok := ledgerPage(key)
		switch {
		case !ok:
			why = "it holds key " + key + ", not the demo's"
		case !slices.Contains(seeded, page):
			why = "it holds key " + key + " of Page " + page + ", which no demo seeded"
		}
		return why == ""
	})
	return why, err
}

// foreignTask returns why a task of queue q is not the demo's, or "".
func foreignTask(q string, insp *asynq.Inspector, seeded []string) (string, error) {
	groups, err := insp.Groups(q)
	if err != nil {
		return "", fmt.Errorf("list groups of queue %s: %w", q, err)
	}
	if len(groups) > 0 {
		return "queue " + q + " holds task groups, which pagereply does not use", nil
	}
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		insp.ListPendingTasks, insp.ListActiveTasks, insp.ListScheduledTasks,
		insp.ListRetryTasks, insp.ListArchivedTasks, insp.ListCompletedTasks,
	}
	for _, list := range lists {
		for page := 1; ; page++ {
			ts, err := list(q, asynq.PageSize(demoListPage), asynq.Page(page))
			if err != nil {
				return "", fmt.Errorf("list tasks of queue %s: %w", q, err)
			}
			for _, t := range ts {
				if !slices.Contains(demoTaskTypes, t.Type) {
					return fmt.Sprintf("queue %s holds a task of type %q, not pagereply's", q, t.Type), nil
				}
				var p struct {
					PageID string `json:"page_id"`
				}
				if err := json.Unmarshal(t.Payload, &p); err != nil || !slices.Contains(seeded, p.PageID) {
					return fmt.Sprintf("queue %s holds %s task %s of Page %s, which no demo seeded", q, t.State, t.ID, p.PageID), nil
				}
			}
			if len(ts) < demoListPage {
				break
			}
		}
	}
	return "", nil
}

// ledgerPage returns the Page of a ledger key, "pagereply:{page}:...".
func ledgerPage(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, tasks.DefaultPrefix+"{")
	if !ok {
		return "", false
	}
	page, _, ok := strings.Cut(rest, "}:")
	return page, ok && page != ""
}

// firstKey returns a key matching match, or "".
func firstKey(ctx context.Context, rdb redis.UniversalClient, match string) (string, error) {
	var found string
	err := scanKeys(ctx, rdb, match, func(key string) bool {
		found = key
		return false
	})
	return found, err
}

// scanKeys calls each with the keys matching match until it returns false.
func scanKeys(ctx context.Context, rdb redis.UniversalClient, match string, each func(string) bool) error {
	iter := rdb.Scan(ctx, 0, match, 1000).Iterator()
	for iter.Next(ctx) {
		if !each(iter.Val()) {
			return nil
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan %s: %w", match, err)
	}
	return nil
}

// forgetDemoPollState drops what an earlier demo run's polls recorded of the
// seeded Pages: the newest comment read on each post and the newest
// conversation. Each run seeds its sandbox afresh, dated from its own start,
// and that record is of the earlier run's sandbox: the private replies it sent
// opened conversations dated then, later than every message this run seeds,
// so its polls would never read this run's conversations. The ledger stays:
// what was sent is still never sent again.
func forgetDemoPollState(ctx context.Context, rdb redis.UniversalClient, l *tasks.Ledger, pages []string) error {
	for _, p := range pages {
		// One Page a call: in a Redis Cluster each Page's keys have a slot
		// of their own.
		posts, convs := worker.PollStateKeys(l, p)
		if err := rdb.Del(ctx, posts, convs).Err(); err != nil {
			return fmt.Errorf("forget an earlier demo's poll state of Page %s: %w", p, err)
		}
	}
	return nil
}

// markDemoDatabase records the Pages of this run in the demo's marker.
func markDemoDatabase(ctx context.Context, rdb redis.UniversalClient, pages []string) error {
	members := make([]any, len(pages))
	for i, p := range pages {
		members[i] = p
	}
	if err := rdb.SAdd(ctx, demoMarker, members...).Err(); err != nil {
		return fmt.Errorf("write %s: %w", demoMarker, err)
	}
	return nil
}
