package redistest

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Dump returns every key of c's database with its value, of every type
// (string, hash, list, set, sorted set, stream), and the number of keys: the
// text the tests search for secrets that must never reach Redis.
func Dump(ctx context.Context, c *redis.Client) (string, int, error) {
	var all strings.Builder
	n := 0
	iter := c.Scan(ctx, 0, "*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		n++
		all.WriteString(k + "\n")
		switch c.Type(ctx, k).Val() {
		case "string":
			all.WriteString(c.Get(ctx, k).Val())
		case "hash":
			for f, v := range c.HGetAll(ctx, k).Val() {
				all.WriteString(f + "=" + v + "\n")
			}
		case "list":
			all.WriteString(strings.Join(c.LRange(ctx, k, 0, -1).Val(), "\n"))
		case "set":
			all.WriteString(strings.Join(c.SMembers(ctx, k).Val(), "\n"))
		case "zset":
			all.WriteString(strings.Join(c.ZRange(ctx, k, 0, -1).Val(), "\n"))
		case "stream":
			for _, m := range c.XRange(ctx, k, "-", "+").Val() {
				fmt.Fprint(&all, m.Values)
			}
		}
		all.WriteString("\n")
	}
	return all.String(), n, iter.Err()
}
