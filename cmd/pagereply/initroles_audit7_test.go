package main

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/pagereply/pagereply/graph/sandbox"
)

// initFamilies are the per-Page families metrics.InitPagesFor makes at 0.
var initFamilies = []string{
	"pagereply_replies_sent_total", "pagereply_replies_failed_total", "pagereply_page_pauses_total",
	"pagereply_duplicates_skipped_total", "pagereply_rate_limited_total", "pagereply_person_gap_waits_total",
	"pagereply_comments_seen_total",
}

// scrapeInitSeries starts roles of a config of e in this process with a
// --health-addr, scrapes its /metrics and returns the series of
// initFamilies it exports, as "name label=value ..." (the labels in the
// exposition's order) to their value text.
func scrapeInitSeries(t *testing.T, e *e2e, roles roleSet) map[string]string {
	t.Helper()
	a, err := newApp(e.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	opts := roleOptions{healthAddr: freeAddr(t), insecure: true}
	r, err := startRoles(context.Background(), a, roles, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.shutdown(context.Background()) })
	code, body := get(t, "http://"+opts.healthAddr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	out := map[string]string{}
	for line := range strings.Lines(body) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		series, value := line[:sp], line[sp+1:]
		name, labels, _ := strings.Cut(series, "{")
		if !slices.Contains(initFamilies, name) {
			continue
		}
		key := name
		for l := range strings.SplitSeq(strings.TrimSuffix(labels, "}"), ",") {
			if l != "" {
				key += " " + strings.ReplaceAll(l, `"`, "")
			}
		}
		out[key] = value
	}
	return out
}

// TestRoleInitSeriesAudit7: a process exports at 0, for every configured
// Page, the per-Page series its own roles write (docs/API.md, GET /metrics: sends, failures,
// pauses, duplicates, rate and gap waits, comments seen at 0 from the
// start) and not those of the roles it does not run: a scheduler none (it
// sends, fails, pauses and reads nothing), an api process its pauses and
// duplicates, a worker all but the api's where="taskid". Each used to
// export every role's 20 per Page: 100,000 series and 48 MB of heap at
// 5,000 Pages in a scheduler that never writes one.
func TestRoleInitSeriesAudit7(t *testing.T) {
	const n = 3
	perPage := map[string][]string{
		"scheduler": nil,
		"api": {
			"pagereply_page_pauses_total reason=throttled", "pagereply_page_pauses_total reason=page_broken",
			"pagereply_page_pauses_total reason=graph_down", "pagereply_page_pauses_total reason=policy_block",
			"pagereply_duplicates_skipped_total where=ledger", "pagereply_duplicates_skipped_total where=taskid",
			"pagereply_duplicates_skipped_total where=answered",
		},
		"worker": {
			"pagereply_replies_sent_total source=poll", "pagereply_replies_sent_total source=webhook",
			"pagereply_replies_sent_total source=api",
			"pagereply_replies_failed_total class=transient", "pagereply_replies_failed_total class=permanent",
			"pagereply_replies_failed_total class=page_broken", "pagereply_replies_failed_total class=unsettled",
			"pagereply_replies_failed_total class=too_old",
			"pagereply_page_pauses_total reason=throttled", "pagereply_page_pauses_total reason=page_broken",
			"pagereply_page_pauses_total reason=graph_down", "pagereply_page_pauses_total reason=policy_block",
			"pagereply_duplicates_skipped_total where=ledger", "pagereply_duplicates_skipped_total where=graph",
			"pagereply_duplicates_skipped_total where=person", "pagereply_duplicates_skipped_total where=answered",
			"pagereply_rate_limited_total", "pagereply_person_gap_waits_total", "pagereply_comments_seen_total",
		},
	}
	for _, role := range []string{"scheduler", "api", "worker"} {
		t.Run(role, func(t *testing.T) {
			e := newE2E(t, sandbox.Options{Pages: n, Posts: 1, Comments: 1, Seed: 7}, "10/s")
			roles, err := parseRoles(role)
			if err != nil {
				t.Fatal(err)
			}
			got := scrapeInitSeries(t, e, roles)
			want := map[string]bool{}
			for _, p := range e.cfg.Pages {
				for _, s := range perPage[role] {
					// Labels in name order: class, page, reason, source, where.
					name, label, _ := strings.Cut(s, " ")
					key := name + " page=" + p.ID
					switch {
					case label == "":
					case label < "page":
						key = name + " " + label + " page=" + p.ID
					default:
						key += " " + label
					}
					want[key] = true
				}
			}
			if len(got) != n*len(perPage[role]) {
				t.Errorf("%s process, %d Pages: %d per-Page series at start, want %d (%d a Page)", role, n, len(got), n*len(perPage[role]), len(perPage[role]))
			}
			for k := range want {
				if v, ok := got[k]; !ok {
					t.Errorf("%s process: no %s at start", role, k)
				} else if v != "0" {
					t.Errorf("%s process: %s = %s at start, want 0", role, k, v)
				}
			}
			for _, k := range slices.Sorted(maps.Keys(got)) {
				if !want[k] {
					t.Errorf("%s process: %s exported, a series of a role it does not run", role, k)
				}
			}
		})
	}
}

// TestServeInitSeriesUnchangedAudit7: serve (every role) exports at start
// exactly the per-Page series it did before the roles chose theirs:
// metrics/testdata/initpages_serve.golden, written by the InitPages of
// before for Pages 11 and 22, here with this config's two Page ids.
func TestServeInitSeriesUnchangedAudit7(t *testing.T) {
	e := newE2E(t, sandbox.Options{Pages: 2, Posts: 1, Comments: 1, Seed: 7}, "10/s")
	golden, err := os.ReadFile("../../metrics/testdata/initpages_serve.golden")
	if err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("page=11", "page="+e.cfg.Pages[0].ID, "page=22", "page="+e.cfg.Pages[1].ID)
	want := strings.Split(strings.TrimSpace(r.Replace(string(golden))), "\n")
	got := scrapeInitSeries(t, e, allRoles())
	if g := slices.Sorted(maps.Keys(got)); !slices.Equal(g, slices.Sorted(slices.Values(want))) {
		t.Errorf("serve's per-Page series at start:\n%s\nwant (before):\n%s", strings.Join(g, "\n"), strings.Join(slices.Sorted(slices.Values(want)), "\n"))
	}
}
