package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/intake"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

func init() {
	register("poll", "poll one Page now (--dry-run: list what would get a reply, write nothing but a throttle's pause)", runPoll)
}

// runPoll polls one Page now, in this process, with the worker's poll
// handler. Without --dry-run it enqueues the replies (a worker sends them);
// with it, it prints the would-be replies and the skip counts and writes
// nothing to Redis but the pause of a Page that Graph throttled (its own
// limit: Graph's limit holds whoever called).
func runPoll(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet(env, "poll", "poll -c FILE --page ID [--dry-run]\n\n"+
		"Exit status: 0 polled, or another poll of the Page is running (nothing done); 1 the Page is paused (before\n"+
		"the poll or during it: the poll did not read it), or an error; 2 bad usage.",
		"pagereply poll -c pagereply.yaml --page 1983306698425200 --dry-run")
	cfgPath := fs.String("c", "", "configuration file (default $PAGEREPLY_CONFIG)")
	page := fs.String("page", "", "id of a configured Page (required)")
	dry := fs.Bool("dry-run", false, "print what would get a reply now, enqueue nothing, write nothing to Redis but the pause of a Page Graph throttles")
	if code := parseFlags(fs, args); code >= 0 {
		return code
	}
	// Redis out of reach is this command's error, said once below.
	a, code := openPageApp(ctx, env, "poll", *cfgPath, *page, true, usesPoll(*page))
	if a == nil {
		return code
	}
	defer a.Close()
	cfg := a.cfg
	if !*dry {
		// Redis out of reach is said once, as for the dry run: not after
		// applyConfig's WARN that it could not check the Pages' pauses.
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := a.rdb.Ping(pctx).Err()
		cancel()
		if err != nil {
			fmt.Fprintf(env.stderr, "pagereply poll: Redis: %v (%s)\n", err, redisHint(cfg.Redis, err))
			return exitError
		}
		// A dry run writes nothing: the config it tries may never run.
		_ = a.applyConfig(ctx, false, map[string]worker.Wake{}) // a failure is logged
	} else {
		// Nor the pause of every Page for an app near its limit: the
		// app may be another than the service's.
		a.graph = a.newGraph(worker.DryRunGraphObserver(a.ledger, a.metrics, a.log))
	}
	var last time.Time
	pl := worker.NewPoller(worker.PollParams{
		Graph: a.graph, Ledger: a.ledger, Enqueuer: a.enq, Pages: cfg.Pages, Metrics: a.metrics, Logger: a.log,
		Progress: func(rep worker.PollReport) {
			if time.Since(last) < time.Second {
				return
			}
			last = time.Now()
			fmt.Fprintf(env.stderr, "  %s  %s walked, %d read for comments (reads paced at the Page's rate)\n",
				time.Since(rep.Started).Round(time.Second), plural(rep.Posts, "post", "posts"), rep.CommentReads)
		},
	})
	rep, err := pl.Poll(ctx, *page, *dry)
	if rep.PauseLiftedAtStart != "" {
		fmt.Fprintf(env.stderr, "pagereply poll: page %s is paused (%s), but the config gives it another token: read with it; a start with this config lifts the pause\n",
			rep.PageID, rep.PauseLiftedAtStart)
	}
	// A poll that read nothing (the Page was paused, or its first read
	// failed) has no counts worth a summary: the lines below say why.
	readNothing := rep.Posts == 0 && rep.Conversations == 0 && rep.Seen == 0 && (err != nil || rep.Paused != "" || rep.Busy)
	switch {
	case readNothing:
	case *dry:
		if err == nil || rep.Seen > 0 {
			printDryRun(env.stdout, &rep)
			if err != nil {
				// Said on stdout, with the list: `poll --dry-run > list.txt`
				// kept a list that looked whole when Ctrl-C or Graph
				// stopped the poll in the middle of the Page.
				fmt.Fprintln(env.stdout, "the poll stopped before its end (the error below): the list holds only what it read before")
			}
		}
	default:
		fmt.Fprintf(env.stdout, "page %s: %s (%d read for comments, %d unchanged), %s seen, %s enqueued, %d already queued, in %s\n",
			rep.PageID, plural(rep.Posts, "post", "posts"), rep.CommentReads, rep.Unchanged, plural(rep.Seen, "item", "items"),
			plural(rep.Enqueued(), "reply", "replies"), rep.Outcomes["queued"], rep.Duration.Round(1e6))
		printSkipped(env.stdout, rep.Skipped)
		if err != nil {
			fmt.Fprintln(env.stdout, "the poll stopped before its end (the error below): the replies above are queued, the rest of the Page was not read")
		}
	}
	if rep.FullRead != "" {
		fmt.Fprintf(env.stdout, "read every post and conversation inside the reply window: %s\n", rep.FullRead)
	}
	if rep.ReadToEnd > 0 {
		fmt.Fprintf(env.stdout, "%d posts had their comments read to the end: Graph listed them ranked, not newest first\n", rep.ReadToEnd)
	}
	if rep.BeyondScan > 0 {
		fmt.Fprintf(env.stdout, "%d posts created before scan_posts were read too: their comments are newer than that\n", rep.BeyondScan)
	}
	if rep.Unreadable > 0 {
		fmt.Fprintf(env.stdout, "%d posts whose comments Graph refused were skipped; the next poll reads them again\n", rep.Unreadable)
	}
	if rep.AdsPosts > 0 {
		fmt.Fprintf(env.stdout, "%s that the feed does not list were read from ads_posts\n", plural(rep.AdsPosts, "ads post", "ads posts"))
	}
	if rep.AdsPostsNotRead != "" {
		fmt.Fprintf(env.stdout, "ads posts not read: %s\n", rep.AdsPostsNotRead)
	}
	if rep.Reels > 0 {
		fmt.Fprintf(env.stdout, "%s created inside scan_posts had their comments read\n", plural(rep.Reels, "Reel", "Reels"))
	}
	if rep.ReelsInScan > worker.MaxReels {
		turns := (rep.ReelsInScan - worker.ReelsNewest + worker.MaxReels - worker.ReelsNewest - 1) / (worker.MaxReels - worker.ReelsNewest)
		fmt.Fprintf(env.stdout, "%d Reels were created inside scan_posts: a poll reads the comments of the newest %d and of %d of the others in turn, each of those every %d polls\n",
			rep.ReelsInScan, worker.ReelsNewest, worker.MaxReels-worker.ReelsNewest, turns)
	}
	if rep.ReelsOverCap {
		fmt.Fprintf(env.stdout, "the Reels listing stopped at its bound of %d pages with Reels created inside scan_posts still coming: the older ones' comments come only through the webhook\n", worker.MaxReelListPages)
	}
	if rep.ReelsNotRead != "" {
		fmt.Fprintf(env.stdout, "reels not read: %s\n", rep.ReelsNotRead)
	}
	if err != nil {
		// A Graph call that got no answer is a network error too: not
		// Redis's, whose hint it was given.
		var ge *graph.Error
		if tasks.RedisAway(err) && !errors.As(err, &ge) {
			fmt.Fprintf(env.stderr, "pagereply poll: %v (%s)\n", err, redisHint(cfg.Redis, err))
		} else {
			fmt.Fprintf(env.stderr, "pagereply poll: %v\n", err)
		}
		switch {
		case rep.Paused != "":
			fmt.Fprintf(env.stderr, "pagereply poll: page %s is paused now; its replies wait until the pause ends: %s\n", rep.PageID, pauseHint(rep.PageID, rep.Paused))
		case graphRefusalHint(cfg, rep.PageID, err, "the poll") != "":
			// A dry run pauses nothing: say what to fix all the same.
			fmt.Fprintf(env.stderr, "pagereply poll: %s\n", graphRefusalHint(cfg, rep.PageID, err, "the poll"))
		case graph.NoAnswer(err):
			fmt.Fprintf(env.stderr, "pagereply poll: %s, then poll again\n", graph.NoAnswerHint(cfg.Graph.BaseURL))
		}
		return exitError
	}
	if rep.Paused != "" {
		fmt.Fprintf(env.stderr, "pagereply poll: page %s paused: %s\n", rep.PageID, rep.Paused)
		fmt.Fprintf(env.stderr, "pagereply poll: %s\n", pauseHint(rep.PageID, rep.Paused))
		// Before the poll, it read nothing; during it (Graph throttled
		// or refused the token: exit 1 above; or another process paused
		// the Page, as a worker's throttled send does), it stopped with
		// the rest of the Page unread: either way the poll asked for did
		// not happen, as the README says.
		return exitError
	}
	if rep.Busy {
		fmt.Fprintf(env.stderr, "pagereply poll: page %s: another poll of it is running (a worker's, or another pagereply poll); nothing done\n", rep.PageID)
	}
	return exitOK
}

// graphRefusalHint is what to check after Graph refused a call of page
// pageID for its credentials, "" for another error: graph.app_secret when
// Graph refused the calls' appsecret_proof (the token is not at fault:
// replacing it would not help), else the Page's access_token key and the
// permissions what (the poll, the conversation read) needs. Neither value
// is named.
func graphRefusalHint(cfg *config.Config, pageID string, err error, what string) string {
	var ge *graph.Error
	switch {
	case graph.ProofRefused(err):
		return fmt.Sprintf("Graph refused the appsecret_proof of page %s's calls: check graph.app_secret (the App Secret of the app the Page's token was made for; an app that requires the proof refuses every call made without it)", pageID)
	case errors.As(err, &ge) && ge.Class == graph.ClassPageBroken && !graph.PolicyBlocked(ge):
		return fmt.Sprintf("Graph refused page %s's access token, or a permission %s needs: check %s (a Page access token with pages_read_engagement, pages_read_user_content and pages_messaging; README, \"Against Meta\")",
			pageID, what, pageTokenKey(cfg.Pages, pageID))
	}
	return ""
}

// pageTokenKey names the access_token key of the configured Page id.
func pageTokenKey(pages []config.Page, id string) string {
	for i := range pages {
		if pages[i].ID == id {
			return fmt.Sprintf("pages[%d].access_token", i)
		}
	}
	return "the Page's access_token"
}

// printDryRun writes the would-be replies as a table, then the skip counts.
func printDryRun(w io.Writer, rep *worker.PollReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tFROM\tTEXT")
	for _, r := range rep.Replies {
		from := r.FromName
		if r.FromID != "" {
			from = strings.TrimSpace(from + " (" + r.FromID + ")")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Target, oneLine(from), oneLine(r.Text))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d items seen; %d would get a reply (dry run: nothing enqueued, nothing written)\n", rep.Seen, len(rep.Replies))
	tasks := map[string]int{}
	queued := 0
	for _, r := range rep.Replies {
		if r.Task != "" {
			tasks[r.Task]++
			queued++
		}
	}
	if queued > 0 {
		states := make([]string, 0, len(tasks))
		for st, n := range tasks {
			states = append(states, fmt.Sprintf("%s %d", st, n))
		}
		slices.Sort(states)
		fmt.Fprintf(w, "of these, %d have a reply task already (%s)", queued, strings.Join(states, ", "))
		if n := tasks["archived"]; n == queued {
			fmt.Fprintf(w, ": archived after their retries ran out, each is queued again in its place by a poll that reads it\n")
		} else if n > 0 {
			fmt.Fprintf(w, ": a poll would not queue them again, but for the %d archived after their retries ran out, each queued again in its place by a poll that reads it\n", n)
		} else {
			fmt.Fprintf(w, ": a poll would not queue them again\n")
		}
	}
	printSkipped(w, rep.Skipped)
}

func printSkipped(w io.Writer, skipped map[intake.Reason]int) {
	reasons := make([]string, 0, len(skipped))
	total := 0
	for r, n := range skipped {
		reasons = append(reasons, string(r))
		total += n
	}
	sort.Strings(reasons)
	fmt.Fprintf(w, "skipped: %d\n", total)
	for _, r := range reasons {
		fmt.Fprintf(w, "  %-16s %d\n", r, skipped[intake.Reason(r)])
	}
}

// oneLine keeps a table row on one line, and long texts short. It drops
// control characters (ESC, C1 controls such as CSI, DEL) and Unicode's
// bidirectional controls (overrides, embeddings, isolates, marks): names and
// texts come from whoever commented, a terminal acts on the first, and the
// second reorder what the rest of the row shows (a name written backwards
// over the text beside it).
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if strings.ContainsFunc(s, unprintable) {
		s = strings.Map(func(r rune) rune {
			if unprintable(r) {
				return -1
			}
			return r
		}, s)
	}
	if r := []rune(s); len(r) > 80 {
		s = string(r[:79]) + "…"
	}
	return s
}

// unprintable reports whether oneLine drops r.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)
}

// pauseHint is what to do about page's pause for reason (poll's and
// enqueue's words alike): for a broken token, fix its cause (a new token or
// app secret lifts the pause at the next start or poll) or lift it now; for
// Graph's asking to wait or not answering (graph_down), wait for the time
// it gave or for it to answer again, or lift it sooner; for any other
// pause, wait for it to end or lift it now.
func pauseHint(page, reason string) string {
	resume := "pagereply resume -c FILE --page " + page
	switch {
	case strings.HasPrefix(reason, tasks.PausePageBroken):
		return "once its cause is fixed, a new access_token or graph.app_secret in the config lifts the pause at the next start or poll; " + resume + " lifts it now"
	case worker.OutagePause(reason):
		return "Graph did not answer the Page's calls: the pause ends by itself (pagereply status shows how long it has left) and the calls are tried again; once Graph answers again, " + resume + " lifts it sooner"
	case tasks.PauseKind(reason) == tasks.PauseGraphDown:
		return "Graph asked to wait: the pause ends by itself at the time Graph gave (pagereply status shows how long it has left); " + resume + " lifts it sooner"
	}
	return "the pause ends by itself (pagereply status shows how long it has left); once Meta has ended a block sooner, pagereply resume -c FILE --page " + page + " lifts it now"
}
