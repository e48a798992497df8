package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSummaryAdsHiddenAudit8: a Page with ads_posts, reels or
// skip_hidden says so in check's summary line, the keys named as in the
// config and in that order, so that
// `check -c` after turning one on shows it took; a Page with neither keeps
// the line it had.
func TestCheckSummaryAdsHiddenAudit8(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT8_CHECK_TOKEN", "EAABaudit8pagetoken")
	t.Setenv("AUDIT8_CHECK_API", "0123456789abcdef0123456789abcdef")
	page := func(id, extra string) string {
		return "  - id: \"" + id + "\"\n    access_token: ${AUDIT8_CHECK_TOKEN}\n    schedule: \"@every 1m\"\n    default_text: \"hi\"\n" + extra
	}
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/3\npages:\n" +
		page("11", "") +
		page("22", "    ads_posts: true\n") +
		page("33", "    skip_hidden: true\n") +
		page("44", "    ads_posts: true\n    skip_hidden: true\n") +
		page("55", "    reels: true\n") +
		page("66", "    ads_posts: true\n    reels: true\n    skip_hidden: true\n") +
		"api:\n  tokens: [\"${AUDIT8_CHECK_API}\"]\n"
	path := filepath.Join(dir, "pagereply.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, nil, "check", "-c", path)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	const line = "page %s: rate 10/s burst 1, person_gap off, schedule \"@every 1m\", replies to comments, 0 rules, a default_text"
	for id, tail := range map[string]string{"11": "", "22": ", ads_posts", "33": ", skip_hidden", "44": ", ads_posts, skip_hidden",
		"55": ", reels", "66": ", ads_posts, reels, skip_hidden"} {
		want := strings.Replace(line, "%s", id, 1) + tail + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("check: no %q in\n%s", want, out)
		}
	}
}
