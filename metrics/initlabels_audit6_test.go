package metrics

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestInitPagesEveryDuplicateWhere: every where="..." the code counts in
// pagereply_duplicates_skipped_total (found in the module's sources) is made
// at 0 by InitPages, so an alert on its first increase fires: "answered" (a
// conversation reply the Page answered in the inbox) came after the list.
func TestInitPagesEveryDuplicateWhere(t *testing.T) {
	re := regexp.MustCompile(`DuplicatesSkipped\.WithLabelValues\([^,]+,\s*"([a-z_]+)"\)`)
	written := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			written[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !written["answered"] || !written["ledger"] {
		t.Fatalf("found %v in the sources: the pattern no longer matches how the code counts duplicates", written)
	}
	m := New()
	m.InitPages([]string{"11"})
	series := gather(t, m)
	for w := range written {
		if _, ok := series["pagereply_duplicates_skipped_total page=11 where="+w]; !ok {
			t.Errorf("where=%q is counted but not made at 0 by InitPages", w)
		}
	}
}
