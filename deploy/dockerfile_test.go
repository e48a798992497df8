package deploy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerInstr is one Dockerfile instruction, continuation lines joined.
type dockerInstr struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY...
	args string
}

type dockerStage struct {
	from, alias string
	instrs      []dockerInstr
}

// dockerfile is a parsed Dockerfile: the ARGs before the first FROM and the stages.
type dockerfile struct {
	args   map[string]string
	stages []*dockerStage
}

func parseDockerfile(file string) (*dockerfile, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	d := &dockerfile{args: map[string]string{}}
	var cur *dockerStage
	var buf strings.Builder
	start := 0
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") || (line == "" && buf.Len() == 0) {
			continue
		}
		if buf.Len() == 0 {
			start = i + 1
		}
		if strings.HasSuffix(line, "\\") {
			buf.WriteString(strings.TrimSuffix(line, "\\"))
			buf.WriteByte(' ')
			continue
		}
		buf.WriteString(line)
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			continue
		}
		word, rest, _ := strings.Cut(text, " ")
		in := dockerInstr{line: start, cmd: strings.ToUpper(word), args: strings.TrimSpace(rest)}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			var img, alias string
			for j := 0; j < len(f); j++ {
				switch {
				case strings.HasPrefix(f[j], "--"):
				case strings.EqualFold(f[j], "AS") && j+1 < len(f):
					alias = f[j+1]
					j++
				case img == "":
					img = f[j]
				}
			}
			cur = &dockerStage{from: img, alias: alias}
			d.stages = append(d.stages, cur)
		case cur == nil && in.cmd == "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			d.args[name] = def
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: %s before FROM", file, in.line, in.cmd)
		default:
			cur.instrs = append(cur.instrs, in)
		}
	}
	if len(d.stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", file)
	}
	return d, nil
}

func (s *dockerStage) all(cmd string) []dockerInstr {
	var out []dockerInstr
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// expand replaces ${NAME} and $NAME from vars.
func expand(s string, vars map[string]string) string {
	return os.Expand(s, func(name string) string { return vars[name] })
}

// execForm parses a JSON array argument (ENTRYPOINT ["a", "b"]).
func execForm(args string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(args), &out); err != nil {
		return nil, fmt.Errorf("not the exec (JSON array) form: %s", args)
	}
	return out, nil
}

// image is what the final stage gives a container.
type image struct {
	entrypoint  []string
	cmd         []string
	env         map[string]string
	user        string
	expose      []int
	healthcheck []string
	// copies are the final stage's COPY --from=stage src dst.
	copies []dockerCopy
}

type dockerCopy struct {
	from, src, dst string
}

// image reads the final stage.
func (d *dockerfile) image() (image, error) {
	img := image{env: map[string]string{}}
	final := d.stages[len(d.stages)-1]
	var errs []error
	for _, in := range final.instrs {
		var err error
		switch in.cmd {
		case "ENTRYPOINT":
			img.entrypoint, err = execForm(in.args)
		case "CMD":
			img.cmd, err = execForm(in.args)
		case "ENV":
			for _, kv := range shellWords(in.args) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					err = fmt.Errorf("ENV %s: write NAME=value", in.args)
					break
				}
				img.env[k] = v
			}
		case "USER":
			img.user = in.args
		case "EXPOSE":
			for _, p := range strings.Fields(in.args) {
				n, perr := strconv.Atoi(strings.TrimSuffix(p, "/tcp"))
				if perr != nil {
					err = fmt.Errorf("EXPOSE %s", p)
					break
				}
				img.expose = append(img.expose, n)
			}
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(in.args, "CMD ")
			if !ok {
				err = errors.New("HEALTHCHECK without CMD")
				break
			}
			img.healthcheck, err = execForm(strings.TrimSpace(cmd))
		case "COPY":
			f := shellWords(in.args)
			var c dockerCopy
			var rest []string
			for _, w := range f {
				if v, ok := strings.CutPrefix(w, "--from="); ok {
					c.from = v
				} else if !strings.HasPrefix(w, "--") {
					rest = append(rest, w)
				}
			}
			if len(rest) != 2 {
				err = fmt.Errorf("COPY %s: want one source and one destination", in.args)
				break
			}
			c.src, c.dst = rest[0], rest[1]
			img.copies = append(img.copies, c)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", in.line, err))
		}
	}
	return img, errors.Join(errs...)
}

// shellWords splits a shell command line into words: quotes group, a
// backslash escapes, && and ; are words of their own. No expansion.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(rs) && strings.ContainsRune(`"\$`, rs[i+1]) {
				i++
				w.WriteRune(rs[i])
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			flush()
		case r == ';':
			flush()
			words = append(words, ";")
		case r == '&' && i+1 < len(rs) && rs[i+1] == '&':
			flush()
			words = append(words, "&&")
			i++
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}

// goBuild is the `go build` command of a RUN instruction.
type goBuild struct {
	env  map[string]string
	args []string // after "go build"
	out  string
	pkg  string
}

// findGoBuild returns the go build command in a stage's RUN instructions.
func findGoBuild(s *dockerStage) (goBuild, dockerInstr, error) {
	for _, in := range s.all("RUN") {
		words := shellWords(in.args)
		for len(words) > 0 && strings.HasPrefix(words[0], "--mount=") {
			words = words[1:]
		}
		var cmd []string
		for i := 0; i <= len(words); i++ {
			if i < len(words) && words[i] != "&&" && words[i] != ";" {
				cmd = append(cmd, words[i])
				continue
			}
			g := goBuild{env: map[string]string{}}
			j := 0
			for ; j < len(cmd) && strings.Contains(cmd[j], "=") && !strings.HasPrefix(cmd[j], "-"); j++ {
				k, v, _ := strings.Cut(cmd[j], "=")
				g.env[k] = v
			}
			if len(cmd) >= j+2 && cmd[j] == "go" && cmd[j+1] == "build" {
				g.args = cmd[j+2:]
				for k := 0; k < len(g.args); k++ {
					if g.args[k] == "-o" && k+1 < len(g.args) {
						g.out = g.args[k+1]
					}
				}
				if n := len(g.args); n > 0 && !strings.HasPrefix(g.args[n-1], "-") {
					g.pkg = g.args[n-1]
				}
				return g, in, nil
			}
			cmd = nil
		}
	}
	return goBuild{}, dockerInstr{}, errors.New("no RUN ... go build")
}

// ldflags returns the value of -ldflags.
func (g goBuild) ldflags() string {
	for k := 0; k < len(g.args); k++ {
		if g.args[k] == "-ldflags" && k+1 < len(g.args) {
			return g.args[k+1]
		}
		if v, ok := strings.CutPrefix(g.args[k], "-ldflags="); ok {
			return v
		}
	}
	return ""
}

// dockerignore is a .dockerignore's rules, matched as Docker does: the last
// rule matching a path or one of its parents decides, "!" re-includes.
type dockerignore []ignoreRule

type ignoreRule struct {
	pattern string
	re      *regexp.Regexp
	negate  bool
}

func loadDockerignore(file string) (dockerignore, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var rules dockerignore
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r := ignoreRule{}
		if p, ok := strings.CutPrefix(line, "!"); ok {
			r.negate, line = true, p
		}
		r.pattern = strings.TrimPrefix(path.Clean(strings.TrimPrefix(line, "/")), "/")
		re, err := globRegexp(r.pattern)
		if err != nil {
			return nil, fmt.Errorf("%s: %q: %w", file, line, err)
		}
		r.re = re
		rules = append(rules, r)
	}
	return rules, nil
}

// globRegexp turns a Docker ignore pattern into an anchored regexp: ** spans
// directories, * and ? do not.
func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// excluded reports whether rel (slash-separated, relative to the context) is
// left out of the build context.
func (d dockerignore) excluded(rel string) bool {
	var candidates []string
	for p := rel; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		candidates = append(candidates, p)
	}
	out := false
	for _, r := range d {
		for _, c := range candidates {
			if r.re.MatchString(c) {
				out = !r.negate
				break
			}
		}
	}
	return out
}

// buildContext copies the files of root that Docker would send as the build
// context into dir.
func buildContext(root, dir string, ignore dockerignore) error {
	return filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if e.IsDir() {
			if ignore.excluded(rel) && !slices.ContainsFunc(ignore, func(r ignoreRule) bool { return r.negate }) {
				return filepath.SkipDir
			}
			return nil
		}
		if !e.Type().IsRegular() || ignore.excluded(rel) {
			return nil
		}
		return copyFile(p, filepath.Join(dir, filepath.FromSlash(rel)))
	})
}

func copyFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func TestDockerignore(t *testing.T) {
	ignore, err := loadDockerignore("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		want bool
	}{
		{"go.mod", false},
		{"go.sum", false},
		{"cmd/pagereply/main.go", false},
		{"config/config.go", false},
		{".git/HEAD", true},
		{"pagereply", true},
		{"bench.test", true},
		{"cmd/pagereply/pagereply.test", true},
		{"deploy/.env", true},
		{"deploy/Dockerfile", true},
		{"api/testdata/fuzz/x", true},
		{"README.md", true},
	}
	for _, tc := range cases {
		if got := ignore.excluded(tc.path); got != tc.want {
			t.Errorf("excluded(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
	// The matcher can say no: a negation re-includes.
	neg := dockerignore{}
	for _, p := range []string{"docs", "!docs/keep.md"} {
		r := ignoreRule{negate: strings.HasPrefix(p, "!")}
		r.re, _ = globRegexp(strings.TrimPrefix(p, "!"))
		neg = append(neg, r)
	}
	if neg.excluded("docs/keep.md") || !neg.excluded("docs/other.md") {
		t.Error("negation rules are not applied")
	}
}

// TestDockerfile checks deploy/Dockerfile: a multi-stage build of a static
// binary stamped with its version onto a non-root distroless image, whose
// entrypoint, default command and health check the binary accepts. It builds
// the binary with the Dockerfile's own go build line in a copy of the build
// context that .dockerignore leaves.
func TestDockerfile(t *testing.T) {
	c := getCLI(t)
	d, err := parseDockerfile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.stages) < 2 {
		t.Fatalf("want a multi-stage build, got %d stage(s)", len(d.stages))
	}
	build := d.stages[0]
	final := d.stages[len(d.stages)-1]

	// The builder's Go is at least go.mod's.
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`).FindStringSubmatch(string(gomod))
	from := expand(build.from, d.args)
	have := regexp.MustCompile(`^golang:(\d+)\.(\d+)`).FindStringSubmatch(from)
	if want == nil || have == nil {
		t.Fatalf("builder %q, go.mod %v: want a golang:X.Y image", from, want)
	}
	if atoi(have[1])*1000+atoi(have[2]) < atoi(want[1])*1000+atoi(want[2]) {
		t.Errorf("builder %s is older than go.mod's go %s.%s", from, want[1], want[2])
	}

	// The go build line: static, trimmed, stripped, version stamped.
	gb, runIn, err := findGoBuild(build)
	if err != nil {
		t.Fatal(err)
	}
	if gb.env["CGO_ENABLED"] != "0" {
		t.Errorf("line %d: go build without CGO_ENABLED=0", runIn.line)
	}
	if !slices.Contains(gb.args, "-trimpath") {
		t.Errorf("line %d: go build without -trimpath", runIn.line)
	}
	ld := shellWords(gb.ldflags())
	for _, f := range []string{"-s", "-w"} {
		if !slices.Contains(ld, f) {
			t.Errorf("line %d: -ldflags without %s", runIn.line, f)
		}
	}
	if !strings.Contains(gb.ldflags(), "-X main.version=${VERSION}") {
		t.Errorf("line %d: -ldflags does not stamp main.version with ${VERSION}", runIn.line)
	}
	if !strings.Contains(runIn.args, "--mount=type=cache,target=/go/pkg/mod") {
		t.Errorf("line %d: go build without the module cache mount", runIn.line)
	}
	if gb.pkg == "" || gb.out == "" {
		t.Fatalf("line %d: go build needs -o and a package: %v", runIn.line, gb.args)
	}
	if st, err := os.Stat(filepath.Join("..", gb.pkg)); err != nil || !st.IsDir() {
		t.Errorf("line %d: go build %s: no such package directory in the repository", runIn.line, gb.pkg)
	}
	for _, cp := range build.all("COPY") {
		words := shellWords(cp.args)
		for _, src := range words[:len(words)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			if _, err := os.Stat(filepath.Join("..", src)); err != nil {
				t.Errorf("line %d: COPY %s: not in the repository root (the build context)", cp.line, src)
			}
		}
	}

	// The final image.
	img, err := d.image()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case strings.HasPrefix(final.from, "gcr.io/distroless/static") && strings.Contains(final.from, "nonroot"):
	case final.from == "scratch":
		if !slices.ContainsFunc(img.copies, func(c dockerCopy) bool { return strings.Contains(c.dst, "/etc/ssl/certs") }) {
			t.Error("a scratch image needs the CA certificates copied in (Graph is HTTPS)")
		}
	default:
		t.Errorf("final image %s: want gcr.io/distroless/static...:nonroot or scratch", final.from)
	}
	if u := strings.Split(img.user, ":")[0]; u == "" || u == "0" || u == "root" {
		t.Errorf("USER %q: want a non-root user", img.user)
	}
	if len(img.entrypoint) != 1 {
		t.Fatalf("ENTRYPOINT %v: want the binary alone, in exec form", img.entrypoint)
	}
	bin := img.entrypoint[0]
	if !slices.ContainsFunc(img.copies, func(c dockerCopy) bool {
		return c.from == build.alias && c.src == gb.out && c.dst == bin
	}) {
		t.Errorf("the final stage does not COPY --from=%s %s %s (the go build output to the ENTRYPOINT)", build.alias, gb.out, bin)
	}
	if cfg := img.env["PAGEREPLY_CONFIG"]; !strings.HasPrefix(cfg, "/etc/pagereply/") {
		t.Errorf("ENV PAGEREPLY_CONFIG=%q: want a file under /etc/pagereply", cfg)
	}
	if err := c.checkArgs(img.cmd); err != nil {
		t.Errorf("CMD: %v", err)
	}
	if len(img.healthcheck) < 2 || img.healthcheck[0] != bin {
		t.Errorf("HEALTHCHECK %v: want the binary (%s) in exec form: the image has no shell", img.healthcheck, bin)
	} else if err := c.checkArgs(img.healthcheck[1:]); err != nil {
		t.Errorf("HEALTHCHECK: %v", err)
	} else {
		raw, ok := flagValue(img.healthcheck[1:], "url")
		if !ok {
			raw = "http://127.0.0.1:8080/healthz"
		}
		u, err := urlPort(raw)
		if err != nil || !slices.Contains(img.expose, u) {
			t.Errorf("HEALTHCHECK probes %s, not an EXPOSEd port %v", raw, img.expose)
		}
	}
	// Every EXPOSEd port is one a manifest's process listens on.
	ports := listenPortsOf(t, append(composeUnits(t), k8sUnits(t)...))
	for _, p := range img.expose {
		if !ports[p] {
			t.Errorf("EXPOSE %d: no compose or Kubernetes process listens there (they use %v)", p, sortedInts(ports))
		}
	}

	t.Run("builds from the context", func(t *testing.T) {
		ignore, err := loadDockerignore("../.dockerignore")
		if err != nil {
			t.Fatal(err)
		}
		ctx := filepath.Join(t.TempDir(), "context")
		if err := buildContext("..", ctx, ignore); err != nil {
			t.Fatal(err)
		}
		const stamp = "deploy-test-1.2.3"
		vars := map[string]string{}
		for k, v := range d.args {
			vars[k] = v
		}
		for _, in := range build.all("ARG") {
			k, v, _ := strings.Cut(in.args, "=")
			vars[k] = v
		}
		vars["VERSION"] = stamp
		out := filepath.Join(t.TempDir(), "pagereply")
		args := []string{"build"}
		for k := 0; k < len(gb.args); k++ {
			a := expand(gb.args[k], vars)
			if gb.args[k] == "-o" {
				args = append(args, "-o", out)
				k++
				continue
			}
			args = append(args, a)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = ctx
		cmd.Env = os.Environ()
		for k, v := range gb.env {
			cmd.Env = append(cmd.Env, k+"="+expand(v, vars))
		}
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %s in the build context: %v\n%s", strings.Join(args, " "), err, b)
		}
		v, err := exec.Command(out, "version").Output()
		if err != nil || !strings.HasPrefix(string(v), "pagereply "+stamp+"\n") {
			t.Errorf("the built binary's version: %q, %v; want pagereply %s", v, err, stamp)
		}
		m, err := exec.Command("go", "version", "-m", out).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"CGO_ENABLED=0", "-trimpath=true"} {
			if !strings.Contains(string(m), want) {
				t.Errorf("go version -m: no %s:\n%s", want, m)
			}
		}
	})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func urlPort(raw string) (int, error) {
	m := regexp.MustCompile(`^https?://[^/:]+:(\d+)(/|$)`).FindStringSubmatch(raw)
	if m == nil {
		return 0, fmt.Errorf("no port in %q", raw)
	}
	return strconv.Atoi(m[1])
}

// listenPortsOf returns every port the units listen on.
func listenPortsOf(t *testing.T, units []unit) map[int]bool {
	t.Helper()
	ports := map[int]bool{}
	for _, u := range units {
		_, cfg, err := u.loadConfig()
		if err != nil {
			continue // reported by the unit's own test
		}
		ps, _ := u.listenPorts(cfg)
		for p := range ps {
			ports[p] = true
		}
	}
	return ports
}

func sortedInts(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dockerImage returns the image facts of deploy/Dockerfile for the manifests
// that run it.
func dockerImage(t *testing.T) image {
	t.Helper()
	d, err := parseDockerfile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	img, err := d.image()
	if err != nil {
		t.Fatal(err)
	}
	return img
}
