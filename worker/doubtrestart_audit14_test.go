package worker_test

import "testing"

// TestDoubtOutlastsRedisRestart_audit14: a send whose answer is lost (Graph
// took it) while the ledger's Redis is away, coming back empty 8 s later:
// the worker keeps trying to record the doubt while Redis is away, so the
// doubt lands on the restarted Redis and the next attempt asks Graph before
// it sends, and finds the reply. Before, the doubt's record was given up
// after 5 s; the claim was gone with Redis's data, and the next attempt sent
// again: Graph's 10900 for a comment, a second Messenger message for a
// conversation reply.
func TestDoubtOutlastsRedisRestart_audit14(t *testing.T) {
	t.Parallel() // mostly waits for the Redis it restarts
	t.Run("comment", func(t *testing.T) { t.Parallel(); outlastsRestart(t, false, true, 1421) })
	t.Run("conversation", func(t *testing.T) { t.Parallel(); outlastsRestart(t, true, true, 1421) })
}
