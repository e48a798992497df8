package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/tasks"
)

// The reasons of put-backs (delayError) that WakePutBacks tells apart by
// their task's last error.
const (
	putBackRate   = "page rate used up"
	putBackPaused = "page paused: "
)

// Wake says which put-back replies of a Page a config change has made stale.
type Wake struct {
	// Rate: the Page's rate changed, so the replies put back on the old
	// rate's schedule would come back at the old pace.
	Rate bool
	// Broken: the Page's page_broken pause was lifted (a new token), so the
	// replies put back until the pause's end need not wait for it.
	Broken bool
}

// wakePageSize is the retry tasks read per Inspector call.
const wakePageSize = 500

// WakePutBacks runs now the reply tasks that wait in asynq's retry state as
// put-backs that wake marks stale, by Page: they are taken again at once and
// meet the Page's new rate or lifted pause (those the rate cannot take yet
// go back on its new schedule). A reply retried after a failure keeps its
// backoff. It returns how many it ran, by Page. asynq keeps no index by
// payload, so the retry state is read whole: a start-up step after a config
// change, not a hot path.
func WakePutBacks(ctx context.Context, insp *asynq.Inspector, wake map[string]Wake) (map[string]int, error) {
	var ids []string
	var pages []string
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("wake put-back replies: %w", err)
		}
		infos, err := insp.ListRetryTasks(tasks.QueueReplies, asynq.PageSize(wakePageSize), asynq.Page(n))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("wake put-back replies: %w", err)
		}
		for _, ti := range infos {
			r, err := tasks.DecodeReply(ti.Payload)
			if err != nil {
				continue
			}
			if w := wake[r.PageID]; w.Rate && strings.HasSuffix(ti.LastErr, ": "+putBackRate) ||
				w.Broken && strings.Contains(ti.LastErr, ": "+putBackPaused+tasks.PausePageBroken) {
				ids, pages = append(ids, ti.ID), append(pages, r.PageID)
			}
		}
		if len(infos) < wakePageSize {
			break
		}
	}
	out := map[string]int{}
	for i, id := range ids {
		// A task that moved meanwhile (a worker took it when due) needs
		// no waking.
		err := insp.RunTask(tasks.QueueReplies, id)
		switch {
		case err == nil:
			out[pages[i]]++
		case errors.Is(err, asynq.ErrTaskNotFound), strings.Contains(err.Error(), "already running"),
			strings.Contains(err.Error(), "already in pending state"):
		default:
			return out, fmt.Errorf("wake put-back reply %s: %w", id, err)
		}
	}
	return out, nil
}
