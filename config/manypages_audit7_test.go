package config

import (
	"fmt"
	"strings"
	"testing"
)

// manyPagesYAML is a config of n Pages, each with its own token from the
// environment and the same two rules and default_text: an agency's config.
func manyPagesYAML(n int) (string, map[string]string) {
	var b strings.Builder
	vars := map[string]string{}
	b.WriteString("pages:\n")
	for i := range n {
		name := fmt.Sprintf("PAGE_TOKEN_%d", i)
		vars[name] = fmt.Sprintf("EAAB%060d", i)
		fmt.Fprintf(&b, `  - id: "%d"
    access_token: ${%s}
    reply_to: [comments, posts]
    rules:
      - match: "(?i)price|cost"
        text: "Hi {{.FirstName}}, prices are on our site."
      - match: "(?i)open|hours"
        text: "Hi {{.FirstName}}, we are open 9 to 5, Monday to Friday."
    default_text: "Thanks for your comment, {{.FirstName}}!"
`, 1000000000000000+i, name)
	}
	return b.String(), vars
}

// BenchmarkParseManyPages is config load and validation of an agency's
// config of 5,000 Pages (docs/PERFORMANCE.md, "Five thousand Pages").
func BenchmarkParseManyPages(b *testing.B) {
	data, vars := manyPagesYAML(5000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse([]byte(data), env(vars)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSecretIndexLinear: the check that no reply text holds a secret tries
// each distinct text on the secrets no longer than it, not every text of
// every Page on every Page's token (75 million searches at 5,000 Pages).
func TestSecretIndexLinear(t *testing.T) {
	const n = 2000
	data, vars := manyPagesYAML(n)
	c, err := Parse([]byte(data), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	x := newSecretIndex(c.namedSecrets())
	long := strings.Repeat("a reply text longer than any token, ", 4)
	for i := range c.Pages {
		for _, text := range []string{c.Pages[i].Rules[0].Text, c.Pages[i].DefaultText, long} {
			if s, ok := x.find(text); ok {
				t.Fatalf("%q holds %s", text, s.path)
			}
		}
	}
	if x.compares > 2*n {
		t.Errorf("%d searches for %d Pages' texts, want at most %d", x.compares, n, 2*n)
	}
	// Found, and the first of two named, as secretIn does.
	tok := func(i int) string { return vars[fmt.Sprintf("PAGE_TOKEN_%d", i)] }
	for _, tt := range []struct{ text, want string }{
		{"hi " + tok(1500), "pages[1500].access_token"},
		{tok(1999) + " and " + tok(7), "pages[7].access_token"},
		{"x" + strings.Repeat("y", 100) + tok(3), "pages[3].access_token"},
	} {
		s, ok := x.find(tt.text)
		want, _ := secretIn(tt.text, c.namedSecrets())
		if !ok || s.path != tt.want || want.path != tt.want {
			t.Errorf("find: %s %v (secretIn: %s), want %s", s.path, ok, want.path, tt.want)
		}
	}
}

// TestPagesShareCompiledTexts: Pages with the same rules and default_text
// share one compiled regexp and template of each, not 5,000 copies.
func TestPagesShareCompiledTexts(t *testing.T) {
	data, vars := manyPagesYAML(3)
	c, err := Parse([]byte(data), env(vars))
	if err != nil {
		t.Fatal(err)
	}
	a, b := &c.Pages[0], &c.Pages[2]
	if a.Rules[1].re != b.Rules[1].re || a.Rules[1].tmpl != b.Rules[1].tmpl || a.defaultTmpl != b.defaultTmpl {
		t.Error("two Pages with the same texts have compiled copies of their own")
	}
	if a.Rules[0].tmpl == a.Rules[1].tmpl || a.Rules[0].re == a.Rules[1].re {
		t.Error("two different rules share a compiled text")
	}
	for _, p := range []*Page{a, b} {
		got, ok, err := p.Render(TemplateData{Name: "Ann Lee", Message: "what are your hours?"})
		if err != nil || !ok || got != "Hi Ann, we are open 9 to 5, Monday to Friday." {
			t.Errorf("page %s: %q %v %v", p.ID, got, ok, err)
		}
	}
}

// TestMetricsPageBuckets: metrics.page_buckets is true unless the file says
// false.
func TestMetricsPageBuckets(t *testing.T) {
	for yaml, want := range map[string]bool{minimal: true, minimal + "metrics:\n  page_buckets: false\n": false, minimal + "metrics: {page_buckets: true}\n": true} {
		c := mustParse(t, yaml, nil)
		if c.Metrics.PageBuckets == nil || *c.Metrics.PageBuckets != want {
			t.Errorf("%q: page_buckets %v, want %v", yaml, c.Metrics.PageBuckets, want)
		}
	}
}
