package tasks

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
)

// PageCounts is how many reply tasks of one Page are in each asynq state.
type PageCounts struct {
	Pending, Active, Scheduled, Retry, Archived int
}

// Total is the Page's reply tasks in all states.
func (c PageCounts) Total() int {
	return c.Pending + c.Active + c.Scheduled + c.Retry + c.Archived
}

// ReplyCounts is CountRepliesByPage's answer.
type ReplyCounts struct {
	// Pages maps a Page id to its counts. Tasks whose payload names no valid
	// Page (written by something else) count under the empty id.
	Pages map[string]PageCounts
	// Truncated names the states that held more than the limit of tasks: only
	// the first limit of them were counted.
	Truncated []string
}

// countPageSize is the tasks read per Inspector call.
const countPageSize = 500

// CountRepliesByPage reads the replies queue state by state and counts its
// tasks per Page, reading at most limit tasks of each state (0: no limit).
// asynq keeps no index by payload, so this reads every task it counts: an
// operator's command, not a hot path. The states are read one after the
// other, page by page, while workers may move tasks between them, so on a
// busy queue the counts are a close reading, not a snapshot.
func CountRepliesByPage(ctx context.Context, insp *asynq.Inspector, limit int) (ReplyCounts, error) {
	out := ReplyCounts{Pages: map[string]PageCounts{}}
	states := []struct {
		name string
		list func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)
		n    func(*PageCounts) *int
	}{
		{"pending", insp.ListPendingTasks, func(c *PageCounts) *int { return &c.Pending }},
		{"active", insp.ListActiveTasks, func(c *PageCounts) *int { return &c.Active }},
		{"scheduled", insp.ListScheduledTasks, func(c *PageCounts) *int { return &c.Scheduled }},
		{"retry", insp.ListRetryTasks, func(c *PageCounts) *int { return &c.Retry }},
		{"archived", insp.ListArchivedTasks, func(c *PageCounts) *int { return &c.Archived }},
	}
next:
	for _, s := range states {
		seen := 0
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return out, fmt.Errorf("count %s replies: %w", s.name, err)
			}
			infos, err := s.list(QueueReplies, asynq.PageSize(countPageSize), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				return out, nil // no reply was ever queued
			}
			if err != nil {
				return out, fmt.Errorf("count %s replies: %w", s.name, err)
			}
			for _, ti := range infos {
				if limit > 0 && seen == limit {
					out.Truncated = append(out.Truncated, s.name)
					continue next
				}
				seen++
				id := ""
				if r, err := DecodeReply(ti.Payload); err == nil {
					id = r.PageID
				}
				c := out.Pages[id]
				(*s.n(&c))++
				out.Pages[id] = c
			}
			if len(infos) < countPageSize {
				break
			}
		}
	}
	return out, nil
}
