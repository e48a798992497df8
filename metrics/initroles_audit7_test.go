package metrics

import (
	"io/fs"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// initKeys is the sorted series keys (gather's) of InitPagesFor(pages, r).
func initKeys(t *testing.T, pages []string, r Roles) []string {
	t.Helper()
	m := New()
	m.InitPagesFor(pages, r)
	return slices.Sorted(maps.Keys(gather(t, m)))
}

// TestInitPagesServeUnchangedAudit7: a process of every role (serve) makes
// at 0 exactly the series InitPages made before the roles chose theirs
// (testdata/initpages_serve.golden, written by that InitPages for Pages 11
// and 22), and so does InitPages.
func TestInitPagesServeUnchangedAudit7(t *testing.T) {
	b, err := os.ReadFile("testdata/initpages_serve.golden")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSpace(string(b)), "\n")
	pages := []string{"11", "22"}
	if got := initKeys(t, pages, AllRoles()); !slices.Equal(got, want) {
		t.Errorf("every role:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	m := New()
	m.InitPages(pages)
	if got := slices.Sorted(maps.Keys(gather(t, m))); !slices.Equal(got, want) {
		t.Errorf("InitPages:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The scheduler writes none of them: a worker and an api process make
	// every one between them, and a scheduler added to either nothing.
	if got := initKeys(t, pages, Roles{Worker: true, API: true}); !slices.Equal(got, want) {
		t.Errorf("worker and api: %d series, want the %d of every role", len(got), len(want))
	}
	if got := initKeys(t, pages, Roles{Scheduler: true}); len(got) != 0 {
		t.Errorf("scheduler alone: %v, want none", got)
	}
	for _, r := range []Roles{{Worker: true}, {API: true}} {
		with := r
		with.Scheduler = true
		if a, b := initKeys(t, pages, r), initKeys(t, pages, with); !slices.Equal(a, b) {
			t.Errorf("%+v: %d series, with the scheduler %d", r, len(a), len(b))
		}
	}
}

// TestInitPagesForWhatEachRoleWritesAudit7: every label value a role's
// sources write as a literal into an InitPagesFor family (duplicates'
// where, failures' class) is made at 0 for that role alone: the worker's
// (packages worker and intake) for a worker process, the api's (package
// api) for an api process. A label value added to one role's code and not
// to its role in InitPagesFor fails here.
func TestInitPagesForWhatEachRoleWritesAudit7(t *testing.T) {
	re := regexp.MustCompile(`(DuplicatesSkipped|RepliesFailed|RepliesSent|PagePauses)\.WithLabelValues\([^,]+,\s*"([a-z_]+)"\)`)
	key := map[string]func(string) string{
		"DuplicatesSkipped": func(v string) string { return "pagereply_duplicates_skipped_total page=11 where=" + v },
		"RepliesFailed":     func(v string) string { return "pagereply_replies_failed_total class=" + v + " page=11" },
		"RepliesSent":       func(v string) string { return "pagereply_replies_sent_total page=11 source=" + v },
		"PagePauses":        func(v string) string { return "pagereply_page_pauses_total page=11 reason=" + v },
	}
	dirs := map[string]Roles{"../worker": {Worker: true}, "../intake": {Worker: true}, "../api": {API: true}}
	found := 0
	for dir, r := range dirs {
		series := map[string]bool{}
		for _, k := range initKeys(t, []string{"11"}, r) {
			series[k] = true
		}
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range re.FindAllSubmatch(b, -1) {
				found++
				if k := key[string(m[1])](string(m[2])); !series[k] {
					t.Errorf("%s writes %s, not made at 0 for its role %+v", path, k, r)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if found < 8 {
		t.Fatalf("%d label values found in the sources: the pattern no longer matches how the code counts", found)
	}
}

// BenchmarkInitPages5000ByRole is what the per-Page series at 0 cost a
// process of each role at 5,000 Pages (docs/PERFORMANCE.md, "Five thousand
// Pages"): the heap they hold (heap-B), their series and one scrape of the
// registry alone (bytes/scrape), at start, before anything happened. "serve"
// is every role, what each role's process made before it made only its own.
func BenchmarkInitPages5000ByRole(b *testing.B) {
	pages := make([]string, 5000)
	for i := range pages {
		pages[i] = strconv.Itoa(1983306698425200 + 7919*i)
	}
	for _, tc := range []struct {
		name string
		r    Roles
	}{
		{"scheduler", Roles{Scheduler: true}},
		{"api", Roles{API: true}},
		{"worker", Roles{Worker: true}},
		{"serve", AllRoles()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			m := New()
			m.InitPagesFor(pages, tc.r)
			runtime.GC()
			runtime.ReadMemStats(&after)
			heap := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			families, err := m.Registry.Gather()
			if err != nil {
				b.Fatal(err)
			}
			series := 0
			for _, f := range families {
				series += len(f.GetMetric())
			}
			h := promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
			b.ReportAllocs()
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
				size = w.Body.Len()
			}
			runtime.KeepAlive(m)
			b.ReportMetric(float64(heap), "heap-B")
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(size), "bytes/scrape")
		})
	}
}
