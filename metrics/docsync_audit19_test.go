package metrics

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// describedNames returns the name of every collector among m's fields, read
// from their descriptions: a vector with no series yet is not gathered, and
// a collector added to Metrics is checked without a list to update.
func describedNames(t *testing.T, m *Metrics) map[string]*prometheus.Desc {
	t.Helper()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]*prometheus.Desc{}
	v := reflect.ValueOf(m).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		if !v.Type().Field(i).IsExported() || f.Type() == reflect.TypeOf(m.Registry) {
			continue
		}
		c, ok := f.Interface().(prometheus.Collector)
		if !ok {
			continue
		}
		ch := make(chan *prometheus.Desc, 8)
		c.Describe(ch)
		close(ch)
		for d := range ch {
			mm := fqName.FindStringSubmatch(d.String())
			if mm == nil {
				t.Fatalf("%s: no name in %s", v.Type().Field(i).Name, d)
			}
			names[mm[1]] = d
		}
	}
	if len(names) == 0 {
		t.Fatal("no collector found in Metrics")
	}
	return names
}

// TestREADMENamesEveryMetric_audit19: every metric this package exports is
// named in deploy/README.md's What to watch, where an operator looks up what
// a series means (deploy's TestREADME checks the other way: each name the
// README gives is exported). pagereply_enqueued_total, which an alert of
// deploy/prometheus/alerts.yaml reads, and pagereply_comments_seen_total
// were named nowhere.
func TestREADMENamesEveryMetric_audit19(t *testing.T) {
	readme, err := os.ReadFile("../deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for n := range describedNames(t, New()) {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(n) + `\b`).Match(readme) {
			t.Errorf("deploy/README.md (What to watch) does not name %s, which pagereply exports", n)
		}
	}
}

// TestEnqueuedHelpNamesOutcomes_audit19: pagereply_enqueued_total's help
// names every outcome the roles write (tasks.Outcome: the API and the poll
// count a target failed for good as "failed") and every source, as
// TestHelpNamesOutcomes does for the other outcome labels.
func TestEnqueuedHelpNamesOutcomes_audit19(t *testing.T) {
	d := describedNames(t, New())["pagereply_enqueued_total"]
	if d == nil {
		t.Fatal("no pagereply_enqueued_total")
	}
	for _, v := range []string{"enqueued", "queued", "sent", "failed", "poll", "webhook_item", "api"} {
		if !strings.Contains(d.String(), v) {
			t.Errorf("help of pagereply_enqueued_total does not name %s: %s", v, d)
		}
	}
}
