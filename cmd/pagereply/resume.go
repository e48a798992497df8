package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

func init() {
	register("resume", "lift a Page's pause now (Meta ended a block sooner) and run the replies it held", runResume)
}

// runResume lifts a Page's pause, of whatever kind, for an operator who
// knows the block is over before the pause runs out: a policy_block lasts
// an hour and more, and conversation replies held that long can miss their
// 24-hour window. It forgets the Page's recent pauses too, so a block that
// comes back starts again from its base length, and runs now the replies and
// webhook items put back until the pause's end (worker.WakePutBacks). Exit
// 0 whether or not the Page was paused; 1 when Redis fails; 2 on bad usage.
func runResume(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "resume", "resume -c FILE --page ID\n\n"+
		"Lifts the Page's pause now, whatever its kind ("+strings.Join(tasks.PauseKinds, ", ")+"), forgets its\n"+
		"recent pauses so that the next starts from its base length, and runs the replies and webhook items held by the\n"+
		"pause now. Use it once Meta has ended a block sooner than the pause: a Page still blocked is paused again by its\n"+
		"first refused call.\n\n"+
		"Exit status: 0 the pause lifted, or the Page was not paused; 1 an error (Redis); 2 bad usage.",
		"pagereply resume -c pagereply.yaml --page 1983306698425200")
	cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
	page := fs.String("page", "", "id of a configured Page (required)")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	// Redis out of reach is this command's error, said once below.
	a, code := openPageApp(ctx, env, "resume", *cfgPath, *page, true, usesRedisAndPageIDs)
	if a == nil {
		return code
	}
	defer a.Close()
	cfg := a.cfg

	// The pause goes first: a put-back run before it would meet the pause
	// and go back for as long again.
	lifted, err := a.ledger.LiftPause(ctx, *page)
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply resume: %v (%s)\n", err, redisHint(cfg.Redis, err))
		return exitError
	}
	if lifted.Left > 0 {
		fmt.Fprintf(env.stdout, "page %s: lifted its %s pause, %s before it would have ended: %s\n",
			*page, tasks.PauseKind(lifted.Reason), lifted.Left.Round(time.Second), lifted.Reason)
		a.log.Info("page pause lifted by pagereply resume", slog.String("page_id", *page),
			slog.String("reason", lifted.Reason), slog.Duration("left", lifted.Left.Round(time.Second)))
	} else {
		fmt.Fprintf(env.stdout, "page %s was not paused\n", *page)
	}
	if len(lifted.Forgot) > 0 {
		fmt.Fprintf(env.stdout, "page %s: forgot its recent %s pauses: the next one starts from its base length\n",
			*page, strings.Join(lifted.Forgot, ", "))
	}

	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	woken, err := worker.WakePutBacks(ctx, insp, a.ledger, map[string]worker.Wake{*page: {Lifted: true}})
	if err != nil {
		fmt.Fprintf(env.stderr, "pagereply resume: page %s is no longer paused, but what its pause held runs only when due: %v (%s)\n",
			*page, err, redisHint(cfg.Redis, err))
		return exitError
	}
	if n := woken[*page]; n.Replies > 0 || n.Items > 0 {
		fmt.Fprintf(env.stdout, "page %s: %d replies and %d webhook items put back for the pause run now\n", *page, n.Replies, n.Items)
	}
	return exitOK
}
