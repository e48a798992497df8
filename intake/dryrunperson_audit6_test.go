package intake

import (
	"context"
	"testing"
	"time"

	"github.com/pagereply/pagereply/config"
	"github.com/pagereply/pagereply/graph"
	"github.com/pagereply/pagereply/tasks"
)

// TestDryRunOneReplyPerPerson: on a Page with one_reply_per_person, a dry
// run lists one reply per person, as the worker sends, not one per comment:
// a person's other comments, and the comments of a person a reply reached
// within the window, count as same_person. Comments without an author are
// each their own person.
func TestDryRunOneReplyPerPerson(t *testing.T) {
	in, _ := redisIntake(t)
	ctx := context.Background()
	page := &config.Page{ID: "100", DefaultText: "Thanks!", OneReplyPerPerson: true}
	now := time.Now().Add(-time.Minute)
	by := func(id, person string) Item {
		it := commentItem(id, now)
		it.From = graph.User{ID: person, Name: "P " + person}
		return it
	}
	if err := in.Ledger.PersonSent(ctx, "100", tasks.Person{ID: "9", Commenter: true}, tasks.Target{Kind: tasks.KindComment, ID: "1_0"}, "m.0", time.Time{}, time.Hour); err != nil {
		t.Fatal(err)
	}
	items := []Item{by("1_1", "7"), by("1_2", "7"), by("1_3", "8"), by("1_4", ""), by("1_5", ""), by("1_6", "9")}
	b := in.NewBatch(page, tasks.SourcePoll, true)
	for _, it := range items {
		if _, err := b.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rep := b.Report()
	var got []string
	for _, r := range rep.Replies {
		got = append(got, r.Target.ID)
	}
	want := []string{"1_1", "1_3", "1_4", "1_5"}
	if len(got) != len(want) {
		t.Fatalf("dry run lists %v, want %v; skipped %v", got, want, rep.Skipped)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("dry run lists %v, want %v", got, want)
		}
	}
	if rep.Skipped[SkipSamePerson] != 2 {
		t.Fatalf("skipped %v, want 2 same_person", rep.Skipped)
	}
	// Without one_reply_per_person every comment is listed.
	page.OneReplyPerPerson = false
	b = in.NewBatch(page, tasks.SourcePoll, true)
	for _, it := range items {
		if _, err := b.Add(ctx, it); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(b.Report().Replies); n != len(items) {
		t.Fatalf("without one_reply_per_person: %d listed, want %d", n, len(items))
	}
}
