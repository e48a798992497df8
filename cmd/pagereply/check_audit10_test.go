package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSummaryOneReplyPerPerson_audit10: a Page with
// one_reply_per_person says so in check's summary line, after the optional
// reads (in the config's order), as ads_posts, reels and skip_hidden do, so
// that `check -c` after turning it on shows it took; a Page without it keeps
// the line it had.
func TestCheckSummaryOneReplyPerPerson_audit10(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AUDIT10_CHECK_TOKEN", "EAABaudit10pagetoken")
	t.Setenv("AUDIT10_CHECK_API", "0123456789abcdef0123456789abcdef")
	page := func(id, extra string) string {
		return "  - id: \"" + id + "\"\n    access_token: ${AUDIT10_CHECK_TOKEN}\n    schedule: \"@every 1m\"\n    default_text: \"hi\"\n" + extra
	}
	yaml := "redis:\n  url: redis://" + freeAddr(t) + "/3\npages:\n" +
		page("11", "") +
		page("22", "    one_reply_per_person: true\n") +
		page("33", "    reels: true\n    skip_hidden: true\n    one_reply_per_person: true\n") +
		page("44", "    one_reply_per_person: false\n    skip_hidden: true\n") +
		"api:\n  tokens: [\"${AUDIT10_CHECK_API}\"]\n"
	path := filepath.Join(dir, "pagereply.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runInProcess(t, nil, "check", "-c", path)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s%s", code, out, errOut)
	}
	const line = "page %s: rate 10/s burst 1, person_gap off, schedule \"@every 1m\", replies to comments, 0 rules, a default_text"
	for id, tail := range map[string]string{"11": "", "22": ", one_reply_per_person", "33": ", reels, skip_hidden, one_reply_per_person",
		"44": ", skip_hidden"} {
		want := strings.Replace(line, "%s", id, 1) + tail + "\n"
		if !strings.Contains(out, want) {
			t.Errorf("check: no %q in\n%s", want, out)
		}
	}
}
