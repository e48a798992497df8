package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestREADME checks deploy/README.md against the binary and the repository:
// the metric names it tells operators to watch are exported, the pagereply
// command lines it shows are accepted, and the files it names exist.
func TestREADME(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	c := getCLI(t)

	t.Run("metrics", func(t *testing.T) {
		exported := map[string]bool{}
		for file, re := range map[string]*regexp.Regexp{
			"../metrics/metrics.go": regexp.MustCompile(`Name:\s*"([a-z_]+)"`),
			"../api/queues.go":      regexp.MustCompile(`NewDesc\(\s*"([a-z_]+)"`),
			"../api/pauses.go":      regexp.MustCompile(`NewDesc\(\s*"([a-z_]+)"`),
		} {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(src), -1) {
				exported[m[1]] = true
			}
		}
		// The runtime and process gauges: from a real --health-addr scrape.
		var worker unit
		for _, u := range k8sUnits(t) {
			if u.args[0] == "worker" {
				worker = u
			}
		}
		le := newLiveEnv(t)
		s, err := le.start(t, worker)
		if err != nil {
			t.Fatal(err)
		}
		var body string
		deadline := time.Now().Add(15 * time.Second)
		for port := range s.addrs {
			for body, err = s.scrape(port); err != nil; body, err = s.scrape(port) {
				if time.Now().After(deadline) {
					t.Fatalf("scrape %s: %v\n%s", worker.where, err, s.stderr)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		for _, m := range regexp.MustCompile(`(?m)^# TYPE ([a-z_:]+) `).FindAllStringSubmatch(body, -1) {
			exported[m[1]] = true
		}
		mentioned := regexp.MustCompile(`\b((?:pagereply|asynq|go|process)_[a-z_]*[a-z])\b`).FindAllStringSubmatch(readme, -1)
		if len(mentioned) == 0 {
			t.Fatal("README.md names no metric")
		}
		for _, m := range mentioned {
			if !exported[m[1]] {
				t.Errorf("README.md names metric %s, which pagereply does not export", m[1])
			}
		}
	})

	t.Run("commands", func(t *testing.T) {
		var lines [][]string
		var prose strings.Builder
		inCode := false
		for _, line := range strings.Split(readme, "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "```") {
				inCode = !inCode
				continue
			}
			if !inCode {
				prose.WriteString(line + "\n")
			} else if cmd := commandIn(line); cmd != nil {
				lines = append(lines, cmd)
			}
		}
		for _, m := range regexp.MustCompile("`([^`\n]+)`").FindAllStringSubmatch(prose.String(), -1) {
			if cmd := commandIn(m[1]); cmd != nil {
				lines = append(lines, cmd)
			}
		}
		if len(lines) < 5 {
			t.Fatalf("found only %d pagereply command lines in README.md", len(lines))
		}
		for _, args := range lines {
			t.Logf("pagereply %s", strings.Join(args, " "))
			// A command with modes (bench) lists no flags of its own: the
			// binary alone judges it.
			if len(c.flags[args[0]]) == 0 && len(args) > 1 && !strings.HasPrefix(args[1], "-") {
				if _, stderr, code := runBin(10*time.Second, nil, append(args, "-h")...); code != 0 {
					t.Errorf("README.md: pagereply %s: exit %d: %s", strings.Join(args, " "), code, firstLine(stderr))
				}
				continue
			}
			if err := c.checkArgs(args); err != nil {
				t.Errorf("README.md: %v", err)
			}
		}
	})

	t.Run("files", func(t *testing.T) {
		// Not files: one the README has the reader create, and kubectl's
		// name of a Deployment.
		created := map[string]bool{"deploy/.env": true, "deploy/pagereply-api": true}
		for _, m := range regexp.MustCompile(`\bdeploy/[A-Za-z0-9_./*-]*[A-Za-z0-9_*]`).FindAllString(readme, -1) {
			if created[m] {
				continue
			}
			if matches, _ := filepath.Glob(filepath.Join("..", m)); len(matches) == 0 {
				t.Errorf("README.md names %s, which does not exist", m)
			}
		}
		// The first column of the table of files, before the first section.
		intro, _, _ := strings.Cut(readme, "\n## ")
		for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)`").FindAllStringSubmatch(intro, -1) {
			if matches, _ := filepath.Glob(m[1]); len(matches) == 0 {
				t.Errorf("README.md lists %s, which is not in deploy/", m[1])
			}
		}
	})
}

// commandIn returns the pagereply command line in a shell line: the binary at
// the start (after sudo), after "--" (kubectl exec), or the command of a
// `docker compose run SERVICE`; nil when there is none.
func commandIn(line string) []string {
	words := shellWords(line)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if w == "&&" || w == ";" {
			words = words[i+1:]
			i = -1
			continue
		}
		isBin := w == "pagereply" || w == "/usr/local/bin/pagereply"
		if isBin && (i == 0 || words[i-1] == "sudo" || words[i-1] == "--") {
			if cmd := cut(words[i+1:]); len(cmd) > 0 {
				return cmd
			}
			return nil
		}
		if w == "run" && i >= 2 && words[i-1] != "go" && strings.Contains(line, "compose") {
			rest := words[i+1:]
			for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
				rest = rest[1:]
			}
			if len(rest) > 1 {
				return cut(rest[1:])
			}
		}
	}
	return nil
}

// cut ends a command line at a shell operator or a comment.
func cut(words []string) []string {
	for i, w := range words {
		if w == "&&" || w == ";" || w == "|" || strings.HasPrefix(w, "#") {
			return words[:i]
		}
	}
	return words
}
