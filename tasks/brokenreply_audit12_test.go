package tasks_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestCountBrokenAnswer_audit12: a target's page-broken answers count only
// when Graph took a send of another reply of the Page since its previous
// one (MarkSentBySend); answers with nothing sent between (a Page really
// broken) do not, nor replies only recorded as sent (MarkSent: a check's
// find, a person already answered).
func TestCountBrokenAnswer_audit12(t *testing.T) {
	ctx := context.Background()
	db := redistest.New(t)
	l := tasks.NewLedger(db.Client, tasks.LedgerOptions{})
	t.Cleanup(l.Close)
	const page = "100"
	bad := tasks.Target{Kind: tasks.KindComment, ID: "1_1"}
	sent := 0
	sendOther := func() {
		sent++
		if err := l.MarkSentBySend(ctx, page, tasks.Target{Kind: tasks.KindComment, ID: "2_" + strconv.Itoa(sent)}, "m"); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name     string
		sends    int
		recorded int
		want     int
	}{
		{name: "first answer", want: 0},
		{name: "again, nothing sent", want: 0},
		{name: "after another reply was sent", sends: 1, want: 1},
		{name: "again, nothing sent since", want: 1},
		{name: "after two more were sent", sends: 2, want: 2},
		{name: "after replies recorded sent without a send", recorded: 2, want: 2},
	} {
		for range step.sends {
			sendOther()
		}
		for i := range step.recorded {
			if err := l.MarkSent(ctx, page, tasks.Target{Kind: tasks.KindComment, ID: "4_" + strconv.Itoa(i)}, "m"); err != nil {
				t.Fatal(err)
			}
		}
		n, err := l.CountBrokenAnswer(ctx, page, bad)
		if err != nil {
			t.Fatal(err)
		}
		if n != step.want {
			t.Errorf("%s: count %d, want %d", step.name, n, step.want)
		}
	}
	// Another target's count is its own.
	if n, err := l.CountBrokenAnswer(ctx, page, tasks.Target{Kind: tasks.KindComment, ID: "3_1"}); err != nil || n != 0 {
		t.Errorf("another target's first answer: %d, %v", n, err)
	}
}
