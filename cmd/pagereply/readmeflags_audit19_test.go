package main

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestREADMECommandFlags_audit19: the Commands table of README.md, where a
// user looks a command up, gives a row to every command `pagereply help`
// lists, and every --flag a row shows is one its command (or, for bench,
// one of its modes) takes: a flag renamed in the code, or one the README
// invented, would send the reader to "flag provided but not defined".
// deploy's TestREADME runs deploy/README.md's command lines; nothing read
// the top-level README's.
func TestREADMECommandFlags_audit19(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(data), "\n## Commands\n")
	if !ok {
		t.Fatal("README.md has no Commands section")
	}
	table, _, _ = strings.Cut(table, "\n## ")

	flagsOf := map[string]string{} // command (or "bench mode") -> its -h
	help := func(args ...string) string {
		key := strings.Join(args, " ")
		if h, ok := flagsOf[key]; ok {
			return h
		}
		out, errOut, code := runInProcess(t, nil, append(args, "-h")...)
		if code != exitOK {
			t.Fatalf("pagereply %s -h: exit %d\n%s", key, code, errOut)
		}
		flagsOf[key] = out
		return out
	}
	takes := func(h, flag string) bool {
		return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(flag) + `\b`).MatchString(h)
	}

	out, _, code := runInProcess(t, nil, "help")
	if code != exitOK {
		t.Fatalf("pagereply help: exit %d", code)
	}
	var commands []string
	for _, m := range regexp.MustCompile(`(?m)^  ([a-z]+)  `).FindAllStringSubmatch(out, -1) {
		commands = append(commands, m[1])
	}
	if len(commands) < 10 {
		t.Fatalf("pagereply help lists %d commands:\n%s", len(commands), out)
	}

	rowRe := regexp.MustCompile("(?m)^\\| `pagereply ([a-z]+)([^`]*)`(.*)$")
	cmdRe := regexp.MustCompile("`(?:pagereply )?([a-z]+)[ `]")
	flagRe := regexp.MustCompile(`(?:^|[^a-z-])--([a-z][a-z-]*[a-z])`)
	benchModes := []string{"pipeline", "latency", "rate", "poll", "redis", "pages", "all"}
	rows := regexp.MustCompile(`(?m)^\| `).FindAllStringIndex(table, -1)
	if len(rows) == 0 {
		t.Fatal("README.md's Commands section has no table")
	}
	shown := map[string]bool{}
	for _, m := range rowRe.FindAllStringSubmatch(table, -1) {
		cells := strings.SplitN(m[0], " | ", 2)
		// The commands the row is about: its first cell's (worker /
		// scheduler / api share a row).
		var cmds []string
		for _, c := range cmdRe.FindAllStringSubmatch(cells[0]+" ", -1) {
			if slices.Contains(commands, c[1]) {
				cmds = append(cmds, c[1])
				shown[c[1]] = true
			}
		}
		var helps []string
		for _, c := range cmds {
			if c == "bench" {
				for _, mode := range benchModes {
					helps = append(helps, help("bench", mode))
				}
				continue
			}
			helps = append(helps, help(c))
		}
		for _, f := range flagRe.FindAllStringSubmatch(m[0], -1) {
			if !slices.ContainsFunc(helps, func(h string) bool { return takes(h, f[1]) }) {
				t.Errorf("README.md, Commands, row of %s: --%s is no flag of %s", strings.Join(cmds, "/"), f[1], strings.Join(cmds, " or "))
			}
		}
	}
	for _, c := range commands {
		if c != "help" && !shown[c] {
			t.Errorf("README.md, Commands: no row for pagereply %s", c)
		}
	}
}
