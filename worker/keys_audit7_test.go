package worker_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/tasks"
	"github.com/pagereply/pagereply/worker"
)

// keyKinds are the patterns of the keys pagereply writes (besides asynq's
// own), for the inventory TestRedisKeysBounded logs: every key it finds
// falls under one of them, or the inventory (and this list) is out of date.
var keyKinds = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`^pagereply:\{\d+\}:t:(comment|post|message):[A-Za-z0-9_.-]+$`), "{page}:t:<target> (ledger entry)"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:ranout:(comment|post|message):[A-Za-z0-9_.-]+$`), "{page}:ranout:<target>"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:replace:(comment|post|message):[A-Za-z0-9_.-]+$`), "{page}:replace:<target> (lock)"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:text:[A-Za-z0-9_.-]+$`), "{page}:text:<message>"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:pc?:[0-9]+(:s)?$`), "{page}:p[c]:<person>[:s]"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:pg:[0-9]+$`), "{page}:pg:<person>"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:(pause|pause_token|pause_last:[a-z_]+)$`), "{page}:pause*"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:(rate|back|sends|rate_config|reads|reads:conversations)$`), "{page}:rate/back/sends/rate_config/reads*"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:reads:conversations:held:message:[A-Za-z0-9_.-]+$`), "{page}:reads:conversations:held:<target> (a put-back reply's read slot)"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:lease:poll$`), "{page}:lease:poll"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:(posts|conversations)$`), "{page}:posts, {page}:conversations (poll state)"},
	{regexp.MustCompile(`^pagereply:\{\d+\}:stats$`), "{page}:stats"},
	{regexp.MustCompile(`^pagereply:app:pause_last$`), "app:pause_last"},
	{regexp.MustCompile(`^pagereply:sessions:ended:.+$`), "sessions:ended:<id>"},
}

// noTTLAllowed are the keys pagereply may keep without a TTL, each bounded
// whatever the traffic, with why. Every other key it writes expires.
var noTTLAllowed = []struct {
	re     *regexp.Regexp
	reason string
}{
	// Written by `pagereply demo` only (not here): the ids of the few Pages
	// its runs seeded, on a database it refuses to share with a deployment.
	{regexp.MustCompile(`^pagereply:demo$`), "the demo's marker: its seeded Page ids, on the demo's own database"},
}

// transientFor is the sandbox's Graph whose private reply to one comment
// always fails with a transient error that is no outage (an error body from
// Graph about that reply): its task runs out of retries.
type transientFor struct {
	worker.Graph
	comment string
	mu      sync.Mutex
	n       int
}

func (g *transientFor) SendPrivateReply(ctx context.Context, token, pageID string, to graph.Recipient, text string) (graph.SendResult, error) {
	if to.CommentID == g.comment {
		g.mu.Lock()
		g.n++
		g.mu.Unlock()
		return graph.SendResult{}, &graph.Error{HTTPStatus: 500, Code: 1200, Message: "(#1200) test: temporary send error", Class: graph.ClassTransient}
	}
	return g.Graph.SendPrivateReply(ctx, token, pageID, to, text)
}

// TestRedisKeysBounded drives a realistic mix through the real worker,
// poller and scheduler (asynq against this Redis, the Graph sandbox over
// HTTP) — replies sent, one failed for good, one retried until its task ran
// out (and asked for again), a throttled Page paused with its reply put
// back, polls of comments, visitors' posts and conversations, a webhook
// item, one_reply_per_person, person_gap, a doubtful reply checked — then
// scans every key that is not asynq's: each must expire (a TTL no longer
// than the longest pagereply keeps anything, tasks.StatsTTL), unless it is
// in noTTLAllowed, and each hash must stay small. Seen failing before the
// Pages' stats hashes got a TTL: "pagereply:{<page>}:stats has no TTL".
func TestRedisKeysBounded(t *testing.T) {
	t.Parallel() // waits on the product's timers; own database and sandbox
	ctx := context.Background()
	h := newHarness(t, sandbox.Options{Pages: 3, Seed: 77})
	sp := h.sb.Pages()
	base := func(i int) config.Page {
		return config.Page{ID: sp[i].ID, AccessToken: sp[i].Token, Schedule: "@every 1s",
			Rate: config.Rate{N: 50, Per: time.Second}, Burst: 1, ReplyTo: []string{config.ReplyComments},
			MaxAge: 168 * time.Hour, ScanPosts: 720 * time.Hour, DefaultText: defaultText}
	}
	pages := []config.Page{base(0), base(1), base(2)}
	// Page 0: comments, visitors' posts and conversations, one reply per person.
	pages[0].ReplyTo = []string{config.ReplyComments, config.ReplyPosts, config.ReplyConversations}
	pages[0].OneReplyPerPerson = true
	// Page 1: a person's replies spaced, a reply refused for good, one that
	// keeps failing, a webhook item.
	pages[1].PersonGap = 300 * time.Millisecond
	// Page 2: throttled.
	p0, p1, p2 := pages[0].ID, pages[1].ID, pages[2].ID

	now := time.Now()
	comment := func(page, post string, u sandbox.User, msg string) tasks.Reply {
		id := h.sb.AddComment(post, u, msg, now.Add(-time.Minute))
		return tasks.Reply{PageID: page, Target: tasks.Target{Kind: tasks.KindComment, ID: id}, Text: "Hi", Source: tasks.SourcePoll}
	}
	ann, bob := sandbox.User{ID: "7707001", Name: "Ann Twice"}, sandbox.User{ID: "7707002", Name: "Bob Doubt"}
	cara, dan := sandbox.User{ID: "7707003", Name: "Cara Poster"}, sandbox.User{ID: "7707004", Name: "Dan Writer"}
	eve, fay := sandbox.User{ID: "7707005", Name: "Eve Twice"}, sandbox.User{ID: "7707006", Name: "Fay Blocked"}
	gus, hal := sandbox.User{ID: "7707007", Name: "Gus Flaky"}, sandbox.User{ID: "7707008", Name: "Hal Hooked"}
	ivy := sandbox.User{ID: "7707009", Name: "Ivy Waiting"}

	postA := h.sb.AddPost(p0, sandbox.User{ID: p0}, "Giveaway", now.Add(-time.Hour))
	anns := []tasks.Reply{comment(p0, postA, ann, "me!"), comment(p0, postA, ann, "me again")}
	bobs := comment(p0, postA, bob, "hello")
	caraPost := h.sb.AddPost(p0, cara, "Do you ship?", now.Add(-2*time.Minute))
	_, danMsg := h.sb.AddMessage(p0, dan, "are you open?", now.Add(-time.Minute))
	postB := h.sb.AddPost(p1, sandbox.User{ID: p1}, "News", now.Add(-time.Hour))
	eves := []tasks.Reply{comment(p1, postB, eve, "first"), comment(p1, postB, eve, "second")}
	fays := comment(p1, postB, fay, "blocked me")
	guss := comment(p1, postB, gus, "flaky")
	postC := h.sb.AddPost(p2, sandbox.User{ID: p2}, "Sale", now.Add(-time.Hour))
	ivys := comment(p2, postC, ivy, "waiting")
	ivys.Source = tasks.SourceAPI

	h.sb.SetBlocked(fay.ID, true)     // Graph's 551: failed for good
	h.sb.Throttle(p2, 10*time.Minute) // every call of Page 2 refused
	h.lostAnswer(t, bobs)             // bob's reply is doubtful: checked before it is sent
	h.enqueueAll(t, []tasks.Reply{ivys})

	flaky := &transientFor{Graph: graph.New(graph.Config{BaseURL: h.srv.URL, Timeout: 2 * time.Second}), comment: guss.Target.ID}
	h.startWorkerOn(t, h.opt, 20, func(p *worker.Params) {
		p.Pages, p.Graph, p.MaxRetry = pages, flaky, 2
		p.Poll = worker.NewPollHandler(h.pollParams(pages))
	})
	h.startScheduler(t, pages)

	sent := append(append([]tasks.Reply{bobs, {PageID: p0, Target: tasks.Target{Kind: tasks.KindPost, ID: caraPost}},
		{PageID: p0, Target: tasks.Target{Kind: tasks.KindMessage, ID: danMsg}}}, anns...), eves...)
	h.waitSent(t, sent, 20*time.Second)
	if n := h.sb.SendCount(anns[0].Target.ID) + h.sb.SendCount(anns[1].Target.ID); n != 1 {
		t.Errorf("one_reply_per_person: the person who commented twice got %d replies, want 1", n)
	}

	// A comment the webhook brings.
	halc := comment(p1, postB, hal, "hooked")
	if _, err := h.enq.EnqueueWebhookItem(ctx, tasks.WebhookItem{PageID: p1, Kind: tasks.KindComment, ID: halc.Target.ID, PostID: postB}); err != nil {
		t.Fatal(err)
	}
	h.waitSent(t, []tasks.Reply{halc}, 20*time.Second)

	// Fay's reply failed for good; Gus's ran out of retries, and is asked
	// for again (its archived task replaced, under the replace lock).
	waitEntry(t, h, fays, tasks.StatusFailed, 20*time.Second)
	h.waitArchived(t, guss, 20*time.Second)
	insp := asynq.NewInspector(h.opt)
	t.Cleanup(func() { _ = insp.Close() })
	enq := *h.enq
	enq.Inspector = insp
	if o, _, err := enq.Enqueue(ctx, guss); err != nil || o != tasks.Enqueued {
		t.Fatalf("enqueue the reply whose task ran out again: %v %v, want it queued in the archived one's place", o, err)
	}
	// Ivy's reply waits out Page 2's pause.
	h.waitPutBack(t, ivys, 20*time.Second, nil)
	if d, _, err := h.ledger.Paused(ctx, p2); err != nil || d <= 0 {
		t.Fatalf("the throttled Page is not paused: %s %v", d, err)
	}

	// What the other roles write, as they write it: a start's records of
	// the Pages' rates and tokens, the app's throttle, a monitor logout.
	ids := []string{p0, p1, p2}
	if _, err := h.ledger.RecordRates(ctx, ids, []string{"50/1s/1", "50/1s/1", "50/1s/1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ledger.AppPauseLength(ctx, time.Minute, 30*time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := h.ledger.RevokeSession(ctx, "keys-audit-session", time.Now().Add(12*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A person's booking (Page 1's person_gap): the mix's own last only
	// their gap, 300 ms, and may be gone by the scan on a loaded machine;
	// one held for an hour is there, with the TTL PersonGap gives it.
	if w, err := h.ledger.PersonGap(ctx, p1, "7707010", tasks.Target{Kind: tasks.KindComment, ID: postB + "_keys"}, 0, time.Hour); err != nil || w != 0 {
		t.Fatalf("book a person's gap: %s %v", w, err)
	}

	checkKeysBounded(t, h, len(h.sb.Posts(p0))+len(h.sb.Posts(p1))+len(h.sb.Posts(p2)))
}

// waitEntry waits until r's ledger entry has status st.
func waitEntry(t *testing.T, h *harness, r tasks.Reply, st tasks.Status, timeout time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		e, err := h.ledger.Get(context.Background(), r.PageID, r.Target)
		if err != nil {
			t.Fatal(err)
		}
		if e.Status == st {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s after %s, want %s (queues: %s)", r.Target, e.Status, timeout, st, h.queueSummary())
		}
	}
}

// checkKeysBounded scans h's database: every key not asynq's must expire
// (within tasks.StatsTTL) or be in noTTLAllowed, and its hashes stay small
// (posts is how many posts the Pages have: their poll state's bound).
func checkKeysBounded(t *testing.T, h *harness, posts int) {
	t.Helper()
	ctx := context.Background()
	rdb := h.db.Client
	type kind struct {
		keys   int
		maxTTL time.Duration
		noTTL  int
	}
	inventory := map[string]*kind{}
	var keys []string
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		if k := iter.Val(); !strings.HasPrefix(k, "asynq:") {
			keys = append(keys, k)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ttl, err := rdb.PTTL(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl == -2 {
			continue // expired since the scan
		}
		name := "unknown"
		for _, kk := range keyKinds {
			if kk.re.MatchString(k) {
				name = kk.name
				break
			}
		}
		if name == "unknown" {
			t.Errorf("key %s is of no pattern the inventory knows: add it to keyKinds (and to the audit's table)", k)
		}
		kd := inventory[name]
		if kd == nil {
			kd = &kind{}
			inventory[name] = kd
		}
		kd.keys++
		if ttl < 0 {
			kd.noTTL++
			allowed := false
			for _, a := range noTTLAllowed {
				allowed = allowed || a.re.MatchString(k)
			}
			if !allowed {
				t.Errorf("%s has no TTL: a key pagereply writes must expire, or be bounded and in noTTLAllowed with why", k)
			}
		} else {
			kd.maxTTL = max(kd.maxTTL, ttl)
			if ttl > tasks.StatsTTL+time.Minute {
				t.Errorf("%s expires in %s, past the longest pagereply keeps anything (%s)", k, ttl, tasks.StatsTTL)
			}
		}
		typ, err := rdb.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		switch typ {
		case "hash":
			n, err := rdb.HLen(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			// stats: sent, failed and sends (the sends Graph took,
			// MarkSentBySend); poll state: a field per post and a few of
			// its own.
			if bound := int64(posts + 4); strings.HasSuffix(k, ":stats") && n > 3 || n > bound {
				t.Errorf("hash %s holds %d fields", k, n)
			}
		case "zset":
			n, err := rdb.ZCard(ctx, k).Result()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(k, ":sends") || n > 100 {
				t.Errorf("sorted set %s of %d members: only a Page's send log, trimmed to its window, is one", k, n)
			}
		case "string":
		default:
			if k != "pagereply:demo" {
				t.Errorf("key %s is a %s: no such key expected", k, typ)
			}
		}
	}
	names := make([]string, 0, len(inventory))
	for n := range inventory {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		kd := inventory[n]
		fmt.Fprintf(&b, "\n  %-48s keys %3d  longest TTL %-12s without TTL %d", n, kd.keys, kd.maxTTL.Round(time.Minute), kd.noTTL)
	}
	t.Logf("keys besides asynq's, by pattern:%s", b.String())
	// The mix must have reached the keys it is there to check.
	for _, want := range []string{"{page}:t:<target> (ledger entry)", "{page}:ranout:<target>", "{page}:text:<message>",
		"{page}:p[c]:<person>[:s]", "{page}:pg:<person>", "{page}:pause*", "{page}:stats",
		"{page}:posts, {page}:conversations (poll state)", "app:pause_last", "sessions:ended:<id>"} {
		if inventory[want] == nil {
			t.Errorf("the mix wrote no %s key: the test proves less than it says", want)
		}
	}
}

// TestPollKeepsStats: a poll of a Page keeps its counters (the stats hash
// `pagereply status` reads) tasks.StatsTTL more, so a configured Page that
// sends nothing for months keeps them; a dry run writes nothing, and leaves
// their TTL as it was. Seen failing before the fix: the TTL stayed at the
// hour the test set.
func TestPollKeepsStats(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, sandbox.Options{Pages: 1, Posts: 2, Comments: 2, Seed: 78})
	pages := commentPages(h)
	page := pages[0].ID
	stats := h.ledger.PageKey(page, "stats")
	if err := h.db.Client.HSet(ctx, stats, "sent", 5).Err(); err != nil {
		t.Fatal(err)
	}
	pl := worker.NewPoller(h.pollParams(pages))
	for _, dry := range []bool{true, false} {
		if err := h.db.Client.PExpire(ctx, stats, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := pl.Poll(ctx, page, dry); err != nil {
			t.Fatal(err)
		}
		d, err := h.db.Client.PTTL(ctx, stats).Result()
		switch {
		case err != nil:
			t.Fatal(err)
		case dry && d > time.Hour:
			t.Errorf("a dry run kept the Page's counters %s", d)
		case !dry && d < tasks.StatsTTL-time.Minute:
			t.Errorf("after a poll the Page's counters expire in %s, want %s", d, tasks.StatsTTL)
		}
	}
	if st, err := h.ledger.Stats(ctx, page); err != nil || st["sent"] != 5 {
		t.Errorf("stats %v %v, want sent 5 as they were", st, err)
	}
}
