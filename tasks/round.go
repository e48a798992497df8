package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundKey is the key of the periodic round name shared by the workers that
// run it alike (the same Pages): one key, its own hash tag, one Cluster slot.
func (l *Ledger) roundKey(name, part string) string {
	return l.prefix + "{round:" + name + "}:" + part
}

// TakeRound reports whether the caller takes the periodic round name for
// every: the first caller within every takes it, the others are told it is
// taken. Workers that would each do the same work (read asynq's archives
// for the same Pages) do it once between them.
func (l *Ledger) TakeRound(ctx context.Context, name string, every time.Duration) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.roundKey(name, "taken"), 1, every).Result()
	if err != nil {
		return false, fmt.Errorf("take round %s: %w", name, err)
	}
	return ok, nil
}

// RoundMark returns what the last round name that completed recorded with
// SetRoundMark, "" when none did within that mark's ttl.
func (l *Ledger) RoundMark(ctx context.Context, name string) (string, error) {
	v, err := l.rdb.Get(ctx, l.roundKey(name, "mark")).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read mark of round %s: %w", name, err)
	}
	return v, nil
}

// SetRoundMark records mark for the round name, kept for ttl.
func (l *Ledger) SetRoundMark(ctx context.Context, name, mark string, ttl time.Duration) error {
	if err := l.rdb.Set(ctx, l.roundKey(name, "mark"), mark, ttl).Err(); err != nil {
		return fmt.Errorf("record mark of round %s: %w", name, err)
	}
	return nil
}
