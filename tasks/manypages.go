package tasks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// manyPagesChunk is how many Pages' commands go in one pipeline: an agency's
// config of thousands of Pages takes a few round trips, not one per Page
// (5,000 serial round trips are 0.5 s on a local Redis and 5 s at 1 ms), and
// no single pipeline holds Redis's reply buffer for long.
const manyPagesChunk = 1000

// scriptCall is one call of a script in runScriptMany.
type scriptCall struct {
	keys []string
	args []any
}

// runScriptMany runs s once per call in pipelines of manyPagesChunk, and
// returns each call's result in order. When Redis answers NOSCRIPT (its
// script cache was flushed, a restart), the script is loaded and the calls
// it refused go again in one more pipeline; one refused again is run alone.
func runScriptMany(ctx context.Context, rdb redis.UniversalClient, s *redis.Script, calls []scriptCall) []*redis.Cmd {
	out := make([]*redis.Cmd, len(calls))
	pipeline := func(idx []int) {
		pipe := rdb.Pipeline()
		for _, i := range idx {
			out[i] = s.EvalSha(ctx, pipe, calls[i].keys, calls[i].args...)
		}
		_, _ = pipe.Exec(ctx) // errors are read per command
	}
	noScript := func(idx []int) []int {
		var again []int
		for _, i := range idx {
			if err := out[i].Err(); err != nil && isNoScript(err) {
				again = append(again, i)
			}
		}
		return again
	}
	for lo := 0; lo < len(calls); lo += manyPagesChunk {
		idx := make([]int, 0, min(manyPagesChunk, len(calls)-lo))
		for i := lo; i < min(lo+manyPagesChunk, len(calls)); i++ {
			idx = append(idx, i)
		}
		pipeline(idx)
		again := noScript(idx)
		if len(again) == 0 {
			continue
		}
		if err := s.Load(ctx, rdb).Err(); err == nil {
			pipeline(again)
			again = noScript(again)
		}
		for _, i := range again {
			out[i] = s.Run(ctx, rdb, calls[i].keys, calls[i].args...)
		}
	}
	return out
}

// FindEntry returns the first of pages (in their order) whose ledger has an
// entry for t, and that entry, reading every Page in a few pipelines; page
// is "" and the entry StatusNone when none has one. It is Get for a target
// whose Page is not known (the API's GET of a reply whose task is gone).
func (l *Ledger) FindEntry(ctx context.Context, pages []string, t Target) (string, Entry, error) {
	for lo := 0; lo < len(pages); lo += manyPagesChunk {
		hi := min(lo+manyPagesChunk, len(pages))
		pipe := l.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, hi-lo)
		for i := range cmds {
			cmds[i] = pipe.Get(ctx, l.entryKey(pages[lo+i], t))
		}
		_, _ = pipe.Exec(ctx) // errors are read per command: a GET's redis.Nil must not hide another's
		for i, c := range cmds {
			v, err := c.Result()
			if errors.Is(err, redis.Nil) {
				continue
			}
			if err != nil {
				return "", Entry{}, fmt.Errorf("ledger get %s of page %s: %w", t, pages[lo+i], err)
			}
			if e := parseEntry(v); e.Status != StatusNone {
				return pages[lo+i], e, nil
			}
		}
	}
	return "", Entry{}, nil
}

// StatsAll is Stats for many Pages in a few pipelines, in their order.
func (l *Ledger) StatsAll(ctx context.Context, pages []string) ([]map[string]int64, error) {
	out := make([]map[string]int64, len(pages))
	for lo := 0; lo < len(pages); lo += manyPagesChunk {
		hi := min(lo+manyPagesChunk, len(pages))
		pipe := l.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, hi-lo)
		for i := range cmds {
			cmds[i] = pipe.HGetAll(ctx, l.pageKey(pages[lo+i], "stats"))
		}
		_, _ = pipe.Exec(ctx)
		for i, c := range cmds {
			m, err := c.Result()
			if err != nil {
				return nil, fmt.Errorf("page %s stats: %w", pages[lo+i], err)
			}
			st := make(map[string]int64, len(m))
			for k, v := range m {
				n, _ := strconv.ParseInt(v, 10, 64)
				st[k] = n
			}
			out[lo+i] = st
		}
	}
	return out, nil
}

// LiftStaleBrokenPauses is LiftStaleBrokenPause for many Pages in a few
// pipelines. It returns the reason of each pause it lifted, by Page. On an
// error, the pauses lifted before it are in the map too.
func (l *Ledger) LiftStaleBrokenPauses(ctx context.Context, pages []string) (map[string]string, error) {
	var of []string
	var calls []scriptCall
	for _, page := range pages {
		fp, ok := l.tokenFP[page]
		if !ok {
			continue
		}
		of = append(of, page)
		calls = append(calls, scriptCall{keys: []string{l.pageKey(page, "pause"), l.pageKey(page, "pause_token")},
			args: []any{fp, PausePageBroken}})
	}
	lifted := map[string]string{}
	var first error
	for i, c := range runScriptMany(ctx, l.rdb, liftScript, calls) {
		reason, err := c.Text()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			if first == nil {
				first = fmt.Errorf("lift pause of page %s: %w", of[i], err)
			}
		default:
			lifted[of[i]] = reason
		}
	}
	return lifted, first
}

// RecordRates is RecordRate for many Pages (rates[i] is pages[i]'s) in a few
// pipelines. It returns the Pages whose rate changed.
func (l *Ledger) RecordRates(ctx context.Context, pages, rates []string) (map[string]bool, error) {
	if len(pages) != len(rates) {
		return nil, fmt.Errorf("record rates: %d pages, %d rates", len(pages), len(rates))
	}
	calls := make([]scriptCall, len(pages))
	for i, page := range pages {
		pk := l.keys(page)
		calls[i] = scriptCall{keys: []string{l.pageKey(page, "rate_config"), pk.back, pk.stats}, args: []any{rates[i], l.ttlArg, l.statsTTLArg}}
	}
	changed := map[string]bool{}
	for i, c := range runScriptMany(ctx, l.rdb, recordRateScript, calls) {
		n, err := c.Int()
		if err != nil {
			return changed, fmt.Errorf("record rate of page %s: %w", pages[i], err)
		}
		if n == 1 {
			changed[pages[i]] = true
		}
	}
	return changed, nil
}

// PauseRequest is one Page's pause for PauseMany.
type PauseRequest struct {
	Page string
	// D is the pause; Longest, when not 0, lets it double as PauseEscalating's.
	D, Longest time.Duration
	Reason     string
}

// PauseResult is what PauseMany did to one Page: the pause set (0 when the
// Page stays paused longer) or the error.
type PauseResult struct {
	Set time.Duration
	Err error
}

// PauseMany is PauseEscalating for many Pages in a few pipelines, in their
// order: the app at its limit pauses every Page of the app at once, where one
// call per Page (thousands for an agency) outlasted the handler's deadline
// and left the later Pages calling Graph.
func (l *Ledger) PauseMany(ctx context.Context, reqs []PauseRequest) []PauseResult {
	calls := make([]scriptCall, len(reqs))
	for i, r := range reqs {
		d := max(r.D, time.Millisecond)
		fp := ""
		kind := PauseKind(r.Reason)
		if kind == PausePageBroken {
			fp = l.tokenFP[r.Page]
		}
		calls[i] = scriptCall{keys: []string{l.pageKey(r.Page, "pause"), l.pageKey(r.Page, "pause_token"), l.pageKey(r.Page, "pause_last:"+kind)},
			args: []any{r.Reason, d.Milliseconds(), fp, r.Longest.Milliseconds()}}
	}
	out := make([]PauseResult, len(reqs))
	for i, c := range runScriptMany(ctx, l.rdb, pauseScript, calls) {
		n, err := c.Int64()
		if err != nil {
			out[i].Err = fmt.Errorf("pause page %s: %w", reqs[i].Page, err)
			continue
		}
		out[i].Set = time.Duration(n) * time.Millisecond
	}
	return out
}
