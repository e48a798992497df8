package tasks_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/pagereply/pagereply/internal/redistest"
	"github.com/pagereply/pagereply/tasks"
)

// TestCountBrokenAnswer_audit12: a target's page-broken answers count only
// when another reply of the Page was recorded as sent since its previous
// one; answers with nothing sent between (a Page really broken) do not.
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
		if err := l.MarkSent(ctx, page, tasks.Target{Kind: tasks.KindComment, ID: "2_" + strconv.Itoa(sent)}, "m"); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		name  string
		sends int
		want  int
	}{
		{name: "first answer", want: 0},
		{name: "again, nothing sent", want: 0},
		{name: "after another reply was sent", sends: 1, want: 1},
		{name: "again, nothing sent since", want: 1},
		{name: "after two more were sent", sends: 2, want: 2},
	} {
		for range step.sends {
			sendOther()
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
