package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

func init() {
	register("status", "show queues and Pages: pending, active, scheduled, retry, archived, sent, paused", runStatus)
}

func runStatus(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "status", "status -c FILE [--count-limit N]", "pagereply status -c pagereply.yaml")
	cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
	limit := fs.Int("count-limit", 100000, "reply tasks read per state to count them per Page (asynq keeps no per-Page index); 0: all")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	if *limit < 0 {
		fmt.Fprintf(env.stderr, "pagereply status: --count-limit must be 0 (count all) or more\n")
		return exitUsage
	}
	cfg, code := loadConfigFor(env, "status", configPath(env, *cfgPath), usesRedisAndPageIDs)
	if cfg == nil {
		return code
	}
	a, err := newApp(cfg, newLogger(cfg.Log, env.stderr))
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply status: %v\n", err)
		return exitUsage
	}
	defer a.Close()
	// Redis out of reach is this command's error, said once below.
	tasks.SetRedisLoggerAt(a.log, slog.LevelDebug)
	if err := a.checkRedisConfig(ctx); err != nil {
		fmt.Fprintf(env.stderr, "pagereply status: %v\n", err)
		return exitUsage
	}
	insp := asynq.NewInspector(a.redis)
	defer insp.Close()

	queues, err := insp.Queues()
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply status: list queues: %v (%s)\n", err, cfg.Redis.UpHint())
		return exitError
	}
	known := slices.Clone(queues)
	for _, q := range []string{tasks.QueuePolls, tasks.QueueReplies} {
		if !slices.Contains(queues, q) {
			queues = append(queues, q)
		}
	}
	slices.Sort(queues)
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	// asynq's processed and failed totals count runs of tasks, not tasks: a
	// reply that failed twice and was then sent counts 3 and 2. Named so,
	// they are not read as replies failed (the Page table's FAILED).
	fmt.Fprintln(tw, "QUEUE\tPENDING\tACTIVE\tSCHEDULED\tRETRY\tARCHIVED\tCOMPLETED\tRUNS\tRUNS_FAILED\tPAUSED")
	for _, q := range queues {
		info := &asynq.QueueInfo{Queue: q} // a queue asynq has not seen yet is empty
		var err error
		if slices.Contains(known, q) {
			info, err = insp.GetQueueInfo(q)
		}
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply status: queue %s: %v\n", q, err)
			return exitError
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", q, info.Pending, info.Active, info.Scheduled,
			info.Retry, info.Archived, info.Completed, info.ProcessedTotal, info.FailedTotal, yesNo(info.Paused))
	}
	if err := tw.Flush(); err != nil {
		return exitError
	}
	fmt.Fprintln(env.stdout)
	counts, err := tasks.CountRepliesByPage(ctx, insp, *limit)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply status: %v\n", err)
		return exitError
	}
	tw = tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PAGE\tPENDING\tACTIVE\tSCHEDULED\tRETRY\tARCHIVED\tSENT\tFAILED\tPAUSED")
	// Every Page's counters and pause in a few pipelines: an agency's
	// thousands of Pages took two round trips each.
	ids := make([]string, len(cfg.Pages))
	for i, p := range cfg.Pages {
		ids[i] = p.ID
	}
	stats, err := a.ledger.StatsAll(ctx, ids)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply status: %v\n", err)
		return exitError
	}
	pauses, err := a.ledger.PausedAll(ctx, ids)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply status: %v\n", err)
		return exitError
	}
	for i, p := range cfg.Pages {
		st := stats[i]
		paused := "no"
		if d := pauses[i].Left; d > 0 {
			paused = fmt.Sprintf("for %s: %s", d.Round(time.Second), pauses[i].Reason)
		}
		c := counts.Pages[p.ID]
		delete(counts.Pages, p.ID)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", p.ID, c.Pending, c.Active, c.Scheduled, c.Retry, c.Archived, st["sent"], st["failed"], paused)
	}
	// Reply tasks of Pages no longer configured: their workers cannot send
	// them (the worker archives a reply of a Page it does not know).
	others := slices.Sorted(maps.Keys(counts.Pages))
	for _, id := range others {
		c := counts.Pages[id]
		name := id + " (not configured)"
		if id == "" {
			name = "(no page id)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t-\t-\t-\n", name, c.Pending, c.Active, c.Scheduled, c.Retry, c.Archived)
	}
	if err := tw.Flush(); err != nil {
		return exitError
	}
	fmt.Fprintln(env.stdout, "\nRUNS and RUNS_FAILED count every run of a task since the queue began (a run that failed and was retried is one of each);")
	fmt.Fprintln(env.stdout, "ARCHIVED tasks are done trying; a Page's FAILED counts its replies Graph refused for good, SENT those it has.")
	if len(counts.Truncated) > 0 {
		fmt.Fprintf(env.stdout, "\nthe Page rows count the first %d reply tasks of each state; %s held more (--count-limit 0 counts all)\n",
			*limit, strings.Join(counts.Truncated, ", "))
	}
	return exitOK
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
