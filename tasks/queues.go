package tasks

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// asynqQueuesKey is the set of queue names asynq's Inspector lists (asynq's
// base.AllQueues).
const asynqQueuesKey = "asynq:queues"

// RegisterQueues adds pagereply's queues to the set asynq's Inspector lists
// (the monitor, status, the asynq_queue_* metrics). asynq's client adds a
// queue there on its first enqueue only, once per process: after Redis lost
// its data (a failover that forgot writes, a restart without persistence),
// queues the running processes go on using would stay unlisted until they
// restart.
func RegisterQueues(ctx context.Context, rdb redis.UniversalClient) error {
	if err := rdb.SAdd(ctx, asynqQueuesKey, QueueReplies, QueuePolls).Err(); err != nil {
		return fmt.Errorf("register queues: %w", err)
	}
	return nil
}
