package deploy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/pagereply/pagereply/graph/sandbox"
	"github.com/pagereply/pagereply/internal/proctest"
	"github.com/pagereply/pagereply/internal/redistest"
)

// alertsFile is the Prometheus rule file deploy/README.md's "What to watch"
// points operators to.
const alertsFile = "prometheus/alerts.yaml"

// ruleFile is a Prometheus rule file, decoded strictly: a key Prometheus
// does not know fails the decode, as it fails Prometheus' load.
type ruleFile struct {
	Groups []ruleGroup `yaml:"groups"`
}

type ruleGroup struct {
	Name     string      `yaml:"name"`
	Interval string      `yaml:"interval"`
	Rules    []alertRule `yaml:"rules"`
}

type alertRule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func loadRules(data []byte) (ruleFile, error) {
	var f ruleFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s: %w", alertsFile, err)
	}
	return f, nil
}

// TestAlertRules_audit13 checks deploy/prometheus/alerts.yaml: each rule has
// the fields an operator's Alertmanager routes and shows; each expression
// parses (balanced, known functions, aggregations as deploy/README.md says:
// max() over the Redis-wide gauges, sum of rate()/increase() over the
// per-process counters); and every metric, label and label value it uses is
// one the binary really exports, read from the /metrics of an api, a
// scheduler and a worker that ran against a Graph sandbox, sent replies,
// took a webhook delivery and met a Page whose token expired.
func TestAlertRules_audit13(t *testing.T) {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := loadRules(data)
	if err != nil {
		t.Fatal(err)
	}
	exprs, errs := checkRuleFields(f)
	for _, err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	if promtool, err := exec.LookPath("promtool"); err == nil {
		out, err := exec.Command(promtool, "check", "rules", alertsFile).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", alertsFile, err, out)
		}
	} else {
		t.Log("promtool not installed: Prometheus' own check of the file skipped")
	}

	cat := liveCatalogue(t, func(c metricCatalogue) bool {
		for _, e := range exprs {
			if checkAlertExpr(e.ast, c, nil) != nil {
				return false
			}
		}
		return true
	})
	var slots []string
	if f := cat["pagereply_polls_scheduled_total"]; f != nil {
		slots = sortedKeys(f.labels["outcome"])
	}
	t.Logf("%d metric names exported, replies sent on %d Pages, poll slots %v", len(cat), sentTotal(cat), slots)
	for _, e := range exprs {
		if err := checkAlertExpr(e.ast, cat, e.rule.Annotations); err != nil {
			t.Errorf("%s: %v", e.rule.Alert, err)
		}
	}
	// The series of the promtool scenarios are the binary's too: their
	// names, labels and label values (seen in the run, or named by the
	// metric's help, such as a poll slot's error), but for those any
	// deployment has its own (Page ids, Graph's codes, Prometheus' target
	// labels).
	var scen struct {
		Tests []struct {
			Name   string `yaml:"name"`
			Series []struct {
				Series string `yaml:"series"`
			} `yaml:"input_series"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal([]byte(alertScenarios), &scen); err != nil {
		t.Fatal(err)
	}
	own := map[string]bool{"page": true, "code": true, "instance": true, "job": true}
	for _, tc := range scen.Tests {
		for _, in := range tc.Series {
			name, labels, err := parseSample(in.Series)
			if err != nil {
				t.Errorf("scenario %q: %v", tc.Name, err)
				continue
			}
			fam := cat[name]
			if fam == nil {
				t.Errorf("scenario %q: series %s: pagereply does not export %s", tc.Name, in.Series, name)
				continue
			}
			for k, v := range labels {
				switch values, ok := fam.labels[k]; {
				case own[k]:
				case !ok:
					t.Errorf("scenario %q: series %s: %s has no label %s", tc.Name, in.Series, name, k)
				case !values[v] && !regexp.MustCompile(`\b`+regexp.QuoteMeta(v)+`\b`).MatchString(fam.help):
					t.Errorf("scenario %q: series %s: no series of %s has %s=%q (it has %s)", tc.Name, in.Series, name, k, v, setList(values))
				}
			}
		}
	}
}

// parsedRule is a rule and its parsed expression.
type parsedRule struct {
	rule alertRule
	ast  pqNode
}

var (
	alertName = regexp.MustCompile(`^Pagereply[A-Z][A-Za-z]+$`)
	promDur   = regexp.MustCompile(`^([0-9]+(ms|s|m|h|d|w|y))+$`)
)

// checkRuleFields checks what Alertmanager and the people it pages read:
// names, for, severity, summary and description, the annotations'
// templates; and parses each expression.
func checkRuleFields(f ruleFile) ([]parsedRule, []error) {
	var errs []error
	var out []parsedRule
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(f.Groups) == 0 {
		fail("%s has no groups", alertsFile)
	}
	names := map[string]bool{}
	for _, g := range f.Groups {
		if g.Name == "" {
			fail("a group without a name")
		}
		if names["group "+g.Name] {
			fail("group %q twice", g.Name)
		}
		names["group "+g.Name] = true
		for _, r := range g.Rules {
			where := r.Alert
			if !alertName.MatchString(r.Alert) {
				fail("alert %q: name it PagereplyCamelCase (a recording rule has no place here)", r.Alert)
			}
			if names[r.Alert] {
				fail("alert %s twice", r.Alert)
			}
			names[r.Alert] = true
			if !promDur.MatchString(r.For) {
				fail("%s: for %q is not a Prometheus duration (give one: a single bad scrape must not page)", where, r.For)
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				fail("%s: labels.severity %q, want critical or warning", where, s)
			}
			for _, k := range []string{"summary", "description"} {
				if strings.TrimSpace(r.Annotations[k]) == "" {
					fail("%s: no annotations.%s", where, k)
				}
			}
			for k, v := range r.Annotations {
				if err := parseAlertTemplate(v); err != nil {
					fail("%s: annotations.%s: %v", where, k, err)
				}
			}
			ast, err := parsePromQL(r.Expr)
			if err != nil {
				fail("%s: expr: %v", where, err)
				continue
			}
			out = append(out, parsedRule{rule: r, ast: ast})
		}
	}
	if n := len(out); n < 8 || n > 14 {
		fail("%d alerts: keep the file to the 8 to 14 that deploy/README.md says to act on", n)
	}
	return out, errs
}

// parseAlertTemplate parses an annotation as Prometheus does (Go templates,
// $labels and $value defined), with the template functions it adds.
func parseAlertTemplate(s string) error {
	stub := func(v any) string { return fmt.Sprint(v) }
	funcs := template.FuncMap{}
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "title", "toUpper", "toLower", "safeHtml", "stripPort", "stripDomain", "reReplaceAll", "match", "args", "first", "label", "value", "query", "sortByLabel", "strvalue", "graphLink", "tableLink", "pathPrefix", "externalURL", "parseDuration"} {
		funcs[name] = stub
	}
	_, err := template.New("a").Funcs(funcs).Option("missingkey=zero").
		Parse("{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}" + s)
	return err
}

// templateLabel finds $labels.NAME in an annotation.
var templateLabel = regexp.MustCompile(`\$labels\.([A-Za-z_][A-Za-z0-9_]*)`)

// ---- the metrics the binary exports ----

// metricFamily is what /metrics showed of one sample name: its type (a
// histogram's _bucket, _sum and _count are counters) and each label's values.
type metricFamily struct {
	typ    string
	labels map[string]map[string]bool
	// help is the family's HELP text, which names the values a label
	// takes on events a short run may not meet.
	help string
}

// metricCatalogue maps a sample name to its family.
type metricCatalogue map[string]*metricFamily

// add reads a /metrics body (Prometheus' text format) into c.
func (c metricCatalogue) add(body string) error {
	types, helps := map[string]string{}, map[string]string{}
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, text, _ := strings.Cut(rest, " ")
			helps[name] = text
			continue
		}
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(rest)
			if len(f) == 2 {
				types[f[0]] = f[1]
			}
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, labels, err := parseSample(line)
		if err != nil {
			return err
		}
		typ, ok := types[name]
		help := helps[name]
		if !ok {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, cut := strings.CutSuffix(name, suffix); cut && (types[base] == "histogram" || types[base] == "summary") {
					typ, ok, help = "counter", true, helps[base]
				}
			}
		}
		if !ok {
			typ = "untyped"
		}
		fam := c[name]
		if fam == nil {
			fam = &metricFamily{typ: typ, labels: map[string]map[string]bool{}, help: help}
			c[name] = fam
		}
		for k, v := range labels {
			if fam.labels[k] == nil {
				fam.labels[k] = map[string]bool{}
			}
			fam.labels[k][v] = true
		}
	}
	return nil
}

// parseSample reads `name{a="x",b="y"} value`.
func parseSample(line string) (string, map[string]string, error) {
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return "", nil, fmt.Errorf("metrics line %q", line)
	}
	name, rest := line[:i], line[i:]
	labels := map[string]string{}
	if rest[0] == '{' {
		rest = rest[1:]
		for {
			rest = strings.TrimLeft(rest, " ,")
			if strings.HasPrefix(rest, "}") {
				break
			}
			eq := strings.Index(rest, `="`)
			if eq <= 0 {
				return "", nil, fmt.Errorf("metrics line %q: labels", line)
			}
			key := rest[:eq]
			rest = rest[eq+2:]
			var v strings.Builder
			j := 0
			for ; j < len(rest) && rest[j] != '"'; j++ {
				if rest[j] == '\\' && j+1 < len(rest) {
					j++
					if rest[j] == 'n' {
						v.WriteByte('\n')
						continue
					}
				}
				v.WriteByte(rest[j])
			}
			if j == len(rest) {
				return "", nil, fmt.Errorf("metrics line %q: unterminated label value", line)
			}
			labels[key] = v.String()
			rest = rest[j+1:]
		}
	}
	return name, labels, nil
}

// liveCatalogue runs a small deployment against a Graph sandbox and a test
// Redis: an api (webhook on), a scheduler and a worker, each a process of
// the binary, and two Pages polled every second, the second with a token
// that expired. It scrapes the api's /metrics and the scheduler's and
// worker's --health-addr until ready(catalogue) holds and a reply was sent
// (or 60 s pass), and returns what they exported.
func liveCatalogue(t *testing.T, ready func(metricCatalogue) bool) metricCatalogue {
	t.Helper()
	db := redistest.New(t)
	const appSecret = "own-app-secret-0123456789abcdef"
	sb := sandbox.New(sandbox.Options{Pages: 2, Posts: 2, Comments: 3, Seed: 13, AppSecret: appSecret})
	graphSrv := &http.Server{Handler: sb, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	graphAddr := ln.Addr().String()
	go func() { _ = graphSrv.Serve(ln) }()
	t.Cleanup(func() { _ = graphSrv.Close() })
	pages := sb.Pages()
	sb.BreakToken(pages[1].ID, true)

	apiAddr := proctest.FreeAddr(t)
	cfg := proctest.Config{
		RedisURL: db.URL(), GraphURL: "http://" + graphAddr, AppSecret: appSecret,
		VerifyToken: "own-verify-token-0123456789abcdef",
		APIAddr:     apiAddr, APITokens: []string{"own-api-token-0123456789abcdef"},
		LogLevel: "info",
	}
	for _, p := range pages {
		cfg.Pages = append(cfg.Pages, proctest.Page{ID: p.ID, AccessToken: p.Token, Schedule: "@every 1s",
			Rate: "50/s", Burst: 5, ReplyTo: []string{"comments", "posts"}, DefaultText: "Thanks, {{.FirstName}}!"})
	}
	cfgPath := proctest.WriteConfig(t, cfg)
	schedAddr, workerAddr := proctest.FreeAddr(t), proctest.FreeAddr(t)
	procs := []*proctest.Proc{
		proctest.Start(t, binPath, "api", nil, "api", "-c", cfgPath),
		proctest.Start(t, binPath, "scheduler", nil, "scheduler", "-c", cfgPath, "--health-addr", schedAddr),
		proctest.Start(t, binPath, "worker", nil, "worker", "-c", cfgPath, "--health-addr", workerAddr),
	}
	t.Cleanup(func() {
		for _, p := range procs {
			_, _ = p.Stop(30 * time.Second)
		}
	})
	if err := proctest.WaitFor(30*time.Second, "the api's /readyz", func() bool {
		resp, err := http.Get("http://" + apiAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		t.Fatal(err)
	}
	// Meta's webhook: new comments delivered, signed with the app secret.
	hook := &sandbox.Webhook{URL: "http://" + apiAddr + "/webhook", AppSecret: appSecret}
	delivered := 0
	for _, g := range sb.Grow(6) {
		if _, ok := sandbox.WebhookBody(g); !ok {
			continue
		}
		if err := hook.Deliver(context.Background(), g); err != nil {
			t.Fatal(err)
		}
		delivered++
	}
	if delivered == 0 {
		t.Fatal("the sandbox grew nothing the webhook delivers")
	}

	var cat metricCatalogue
	var scrapeErr error
	deadline := time.Now().Add(60 * time.Second)
	for {
		cat, scrapeErr = metricCatalogue{}, nil
		for _, addr := range []string{apiAddr, schedAddr, workerAddr} {
			body, err := getMetrics(addr)
			if err == nil {
				err = cat.add(body)
			}
			if err != nil {
				scrapeErr = errors.Join(scrapeErr, fmt.Errorf("%s: %w", addr, err))
			}
		}
		if scrapeErr == nil && sentTotal(cat) > 0 && ready(cat) {
			return cat
		}
		if time.Now().After(deadline) {
			if scrapeErr != nil {
				t.Fatal(scrapeErr)
			}
			if sentTotal(cat) == 0 {
				t.Fatal("no reply sent in 60 s: the run cannot stand for a working deployment")
			}
			t.Log("some series the rules use did not appear within 60 s")
			return cat
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// sentTotal returns the number of Pages the worker sent a reply for. The
// series of pagereply_replies_sent_total exist at 0 from the start, and the
// catalogue keeps no values; pagereply_enqueue_to_send_seconds has a Page's
// series only once one of its replies was sent.
func sentTotal(c metricCatalogue) int {
	if f := c["pagereply_enqueue_to_send_seconds_count"]; f != nil {
		return len(f.labels["page"])
	}
	return 0
}

func getMetrics(addr string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return b.String(), nil
}

// ---- a small PromQL parser: enough to check the rules, not to run them ----

type pqNode interface{}

type (
	pqNumber   struct{ v string }
	pqString   struct{ v string }
	pqMatcher  struct{ label, op, value string }
	pqSelector struct {
		name     string
		matchers []pqMatcher
		rng      string // [5m], empty for an instant vector
	}
	pqCall struct {
		fn   string
		args []pqNode
	}
	pqAgg struct {
		op      string
		by      []string
		without bool
		param   pqNode
		arg     pqNode
	}
	pqBinary struct {
		op       string
		lhs, rhs pqNode
		on       []string
		ignoring bool
		hasOn    bool
	}
	pqParen    struct{ e pqNode }
	pqUnary    struct{ e pqNode }
	pqSubquery struct {
		e   pqNode
		rng string
	}
)

// pqFunctions are PromQL's functions, with the argument they take a range of
// ("" for none): rate() of a gauge or deriv() of a counter is a mistake.
var pqFunctions = map[string]string{
	"abs": "", "absent": "", "absent_over_time": "any", "ceil": "", "changes": "any", "clamp": "", "clamp_max": "",
	"clamp_min": "", "day_of_month": "", "day_of_week": "", "day_of_year": "", "days_in_month": "", "delta": "gauge",
	"deriv": "gauge", "exp": "", "floor": "", "histogram_quantile": "", "holt_winters": "gauge", "hour": "",
	"idelta": "gauge", "increase": "counter", "irate": "counter", "label_join": "", "label_replace": "", "ln": "",
	"log10": "", "log2": "", "minute": "", "month": "", "predict_linear": "gauge", "rate": "counter", "resets": "counter",
	"round": "", "scalar": "", "sgn": "", "sort": "", "sort_desc": "", "sqrt": "", "time": "", "timestamp": "",
	"vector": "", "year": "", "avg_over_time": "gauge", "min_over_time": "gauge", "max_over_time": "gauge",
	"sum_over_time": "gauge", "count_over_time": "any", "quantile_over_time": "gauge", "stddev_over_time": "gauge",
	"stdvar_over_time": "gauge", "last_over_time": "any", "present_over_time": "any",
}

var pqAggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true, "count": true,
	"count_values": true, "bottomk": true, "topk": true, "quantile": true,
}

var pqPrec = map[string]int{
	"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3, ">=": 3, ">": 3,
	"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5, "^": 6,
}

type pqToken struct {
	kind string // ident, number, duration, string, punct, op
	v    string
}

var pqLex = regexp.MustCompile(`^(?:` +
	`(?P<duration>[0-9]+(?:ms|s|m|h|d|w|y)(?:[0-9]+(?:ms|s|m|h|d|w|y))*)` +
	`|(?P<number>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)` +
	`|(?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)` +
	`|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')` +
	`|(?P<op>==|!=|<=|>=|=~|!~|[-+*/%^<>=])` +
	`|(?P<punct>[(){}\[\],:])` +
	`)`)

func lexPromQL(s string) ([]pqToken, error) {
	var out []pqToken
	stack := []byte{}
	pairs := map[byte]byte{')': '(', '}': '{', ']': '['}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(s, " \t\r\n") {
		if s[0] == '#' {
			_, s, _ = strings.Cut(s, "\n")
			continue
		}
		m := pqLex.FindStringSubmatchIndex(s)
		if m == nil {
			return nil, fmt.Errorf("cannot read %q", clip(s))
		}
		for i, name := range pqLex.SubexpNames() {
			if i > 0 && name != "" && m[2*i] >= 0 {
				tok := pqToken{kind: name, v: s[m[2*i]:m[2*i+1]]}
				if tok.kind == "punct" {
					switch c := tok.v[0]; c {
					case '(', '{', '[':
						stack = append(stack, c)
					case ')', '}', ']':
						if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
							return nil, fmt.Errorf("unbalanced %q before %q", c, clip(s[1:]))
						}
						stack = stack[:len(stack)-1]
					}
				}
				out = append(out, tok)
				break
			}
		}
		s = s[m[1]:]
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unclosed %q", stack[len(stack)-1])
	}
	return out, nil
}

func clip(s string) string {
	if len(s) > 30 {
		return s[:30] + "..."
	}
	return s
}

type pqParser struct {
	toks []pqToken
	pos  int
}

// parsePromQL parses an expression into a tree of pq nodes.
func parsePromQL(s string) (pqNode, error) {
	toks, err := lexPromQL(s)
	if err != nil {
		return nil, err
	}
	p := &pqParser{toks: toks}
	n, err := p.expr(1)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].v)
	}
	return n, nil
}

func (p *pqParser) peek() pqToken {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return pqToken{}
}

func (p *pqParser) next() pqToken { t := p.peek(); p.pos++; return t }

func (p *pqParser) expect(v string) error {
	if t := p.next(); t.v != v {
		return fmt.Errorf("want %q, got %q", v, t.v)
	}
	return nil
}

func (p *pqParser) binOp() (string, bool) {
	t := p.peek()
	if (t.kind == "op" && t.v != "=" && t.v != "=~" && t.v != "!~") || (t.kind == "ident" && pqPrec[t.v] > 0) {
		return t.v, true
	}
	return "", false
}

func (p *pqParser) expr(minPrec int) (pqNode, error) {
	lhs, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op, ok := p.binOp()
		if !ok || pqPrec[op] < minPrec {
			return lhs, nil
		}
		p.next()
		b := &pqBinary{op: op, lhs: lhs}
		if p.peek().v == "bool" {
			p.next()
		}
		if v := p.peek().v; v == "on" || v == "ignoring" {
			p.next()
			b.hasOn, b.ignoring = true, v == "ignoring"
			if b.on, err = p.labelList(); err != nil {
				return nil, err
			}
		}
		if v := p.peek().v; v == "group_left" || v == "group_right" {
			p.next()
			if p.peek().v == "(" {
				if _, err := p.labelList(); err != nil {
					return nil, err
				}
			}
		}
		next := pqPrec[op] + 1
		if op == "^" {
			next = pqPrec[op]
		}
		if b.rhs, err = p.expr(next); err != nil {
			return nil, err
		}
		lhs = b
	}
}

func (p *pqParser) unary() (pqNode, error) {
	if v := p.peek().v; v == "-" || v == "+" {
		p.next()
		e, err := p.unary()
		return &pqUnary{e}, err
	}
	n, err := p.primary()
	if err != nil {
		return nil, err
	}
	for p.peek().v == "[" {
		p.next()
		d := p.next()
		if d.kind != "duration" {
			return nil, fmt.Errorf("range %q is not a duration", d.v)
		}
		rng := d.v
		if p.peek().v == ":" {
			p.next()
			if p.peek().kind == "duration" {
				rng += ":" + p.next().v
			} else {
				rng += ":"
			}
			n = &pqSubquery{e: n, rng: rng}
		} else if sel, ok := n.(*pqSelector); ok && sel.rng == "" {
			sel.rng = rng
		} else {
			return nil, errors.New("a range [..] after something other than a metric selector (a subquery needs [range:step])")
		}
		if err := p.expect("]"); err != nil {
			return nil, err
		}
	}
	if p.peek().v == "offset" {
		p.next()
		if d := p.next(); d.kind != "duration" {
			return nil, fmt.Errorf("offset %q is not a duration", d.v)
		}
	}
	return n, nil
}

func (p *pqParser) labelList() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var out []string
	for p.peek().v != ")" {
		t := p.next()
		if t.kind != "ident" {
			return nil, fmt.Errorf("label name %q", t.v)
		}
		out = append(out, t.v)
		if p.peek().v == "," {
			p.next()
		}
	}
	p.next()
	return out, nil
}

func (p *pqParser) primary() (pqNode, error) {
	t := p.next()
	switch t.kind {
	case "number":
		return &pqNumber{t.v}, nil
	case "string":
		return &pqString{t.v}, nil
	case "punct":
		switch t.v {
		case "(":
			e, err := p.expr(1)
			if err != nil {
				return nil, err
			}
			return &pqParen{e}, p.expect(")")
		case "{":
			p.pos--
			return p.selector("")
		}
	case "ident":
		if pqAggregations[t.v] {
			return p.aggregation(t.v)
		}
		if p.peek().v == "(" {
			if _, ok := pqFunctions[t.v]; !ok {
				return nil, fmt.Errorf("unknown function %s()", t.v)
			}
			p.next()
			c := &pqCall{fn: t.v}
			for p.peek().v != ")" {
				a, err := p.expr(1)
				if err != nil {
					return nil, err
				}
				c.args = append(c.args, a)
				if p.peek().v == "," {
					p.next()
				} else if p.peek().v != ")" {
					return nil, fmt.Errorf("%s(): want , or ), got %q", t.v, p.peek().v)
				}
			}
			p.next()
			return c, nil
		}
		if pqPrec[t.v] > 0 || slices.Contains([]string{"by", "without", "on", "ignoring", "bool", "offset", "group_left", "group_right"}, t.v) {
			return nil, fmt.Errorf("unexpected keyword %q", t.v)
		}
		return p.selector(t.v)
	}
	return nil, fmt.Errorf("unexpected %q", t.v)
}

func (p *pqParser) aggregation(op string) (pqNode, error) {
	a := &pqAgg{op: op}
	var err error
	if v := p.peek().v; v == "by" || v == "without" {
		p.next()
		a.without = v == "without"
		if a.by, err = p.labelList(); err != nil {
			return nil, err
		}
	}
	if err := p.expect("("); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	first, err := p.expr(1)
	if err != nil {
		return nil, err
	}
	if p.peek().v == "," {
		p.next()
		a.param = first
		if first, err = p.expr(1); err != nil {
			return nil, err
		}
	}
	a.arg = first
	if err := p.expect(")"); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if v := p.peek().v; v == "by" || v == "without" {
		return nil, fmt.Errorf("%s(...) %s (...): write %s %s (...) (...), the grouping first, as the rest of the file does", op, v, op, v)
	}
	return a, nil
}

func (p *pqParser) selector(name string) (pqNode, error) {
	s := &pqSelector{name: name}
	if p.peek().v != "{" {
		return s, nil
	}
	p.next()
	for p.peek().v != "}" {
		l, op, v := p.next(), p.next(), p.next()
		if l.kind != "ident" || (op.v != "=" && op.v != "!=" && op.v != "=~" && op.v != "!~") || v.kind != "string" {
			return nil, fmt.Errorf("matcher %s%s%s", l.v, op.v, v.v)
		}
		val, err := strconv.Unquote(v.v)
		if err != nil && strings.HasPrefix(v.v, "'") {
			val, err = strconv.Unquote(`"` + strings.ReplaceAll(v.v[1:len(v.v)-1], `"`, `\"`) + `"`)
		}
		if err != nil {
			return nil, fmt.Errorf("matcher value %s: %w", v.v, err)
		}
		if l.v == "__name__" {
			return nil, errors.New("a metric chosen by __name__: name it")
		}
		s.matchers = append(s.matchers, pqMatcher{label: l.v, op: op.v, value: val})
		if p.peek().v == "," {
			p.next()
		}
	}
	p.next()
	if s.name == "" {
		return nil, errors.New("a selector without a metric name")
	}
	return s, nil
}

// ---- checking an expression against what the binary exports ----

// redisWide are the gauges every api process reads from Redis alike: a
// sum() over the api processes would multiply them (deploy/README.md).
func redisWide(name string) bool {
	return strings.HasPrefix(name, "asynq_") || name == "pagereply_page_paused" || name == "pagereply_page_pause_remaining_seconds"
}

// checkAlertExpr checks a parsed expression against the catalogue: metric
// names, types against the functions over them, labels and values in
// matchers and groupings, the aggregations deploy/README.md asks for, and
// the $labels the annotations use (nil annotations: not checked).
func checkAlertExpr(n pqNode, c metricCatalogue, annotations map[string]string) error {
	var errs []error
	var walk func(n pqNode, ancestors []pqNode)
	walk = func(n pqNode, ancestors []pqNode) {
		anc := append(slices.Clone(ancestors), n)
		switch x := n.(type) {
		case *pqSelector:
			errs = append(errs, checkSelector(x, ancestors, c)...)
		case *pqCall:
			for _, a := range x.args {
				walk(a, anc)
			}
		case *pqAgg:
			if x.param != nil {
				walk(x.param, anc)
			}
			walk(x.arg, anc)
			have := outLabels(x.arg, c)
			for _, l := range x.by {
				if have != nil && !have[l] {
					errs = append(errs, fmt.Errorf("%s by (%s): the series under it have no label %s (they have %s)", x.op, strings.Join(x.by, ", "), l, setList(have)))
				}
			}
		case *pqBinary:
			walk(x.lhs, anc)
			walk(x.rhs, anc)
			if x.hasOn && !x.ignoring {
				l, r := outLabels(x.lhs, c), outLabels(x.rhs, c)
				for _, name := range x.on {
					if (l != nil && !l[name]) || (r != nil && !r[name]) {
						errs = append(errs, fmt.Errorf("%s on (%s): a side has no label %s", x.op, strings.Join(x.on, ", "), name))
					}
				}
			}
		case *pqParen:
			walk(x.e, anc)
		case *pqUnary:
			walk(x.e, anc)
		case *pqSubquery:
			walk(x.e, anc)
		}
	}
	walk(n, nil)
	if annotations != nil {
		out := outLabels(n, c)
		for k, v := range annotations {
			for _, m := range templateLabel.FindAllStringSubmatch(v, -1) {
				if out == nil || !out[m[1]] {
					errs = append(errs, fmt.Errorf("annotations.%s uses $labels.%s, which the alert's series do not carry (they carry %s)", k, m[1], setList(out)))
				}
			}
		}
	}
	return errors.Join(errs...)
}

func checkSelector(s *pqSelector, ancestors []pqNode, c metricCatalogue) []error {
	var errs []error
	fail := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{s.name}, a...)...))
	}
	fam := c[s.name]
	if fam == nil {
		fail("pagereply does not export this metric")
		return errs
	}
	for _, m := range s.matchers {
		values, ok := fam.labels[m.label]
		if !ok {
			fail("no label %s (it has %s)", m.label, setList(labelNames(fam)))
			continue
		}
		if m.op == "=" || m.op == "!=" {
			if !values[m.value] {
				fail("%s%s%q: no series has %s=%q (it has %s)", m.label, m.op, m.value, m.label, m.value, setList(values))
			}
			continue
		}
		re, err := regexp.Compile("^(?:" + m.value + ")$")
		if err != nil {
			fail("%s%s%q: %v", m.label, m.op, m.value, err)
			continue
		}
		if regexp.MustCompile(`^[A-Za-z0-9_]+(\|[A-Za-z0-9_]+)*$`).MatchString(m.value) {
			for _, alt := range strings.Split(m.value, "|") {
				if !values[alt] {
					fail("%s%s%q: no series has %s=%q (it has %s)", m.label, m.op, m.value, m.label, alt, setList(values))
				}
			}
			continue
		}
		matched := false
		for v := range values {
			matched = matched || re.MatchString(v)
		}
		if !matched {
			fail("%s%s%q matches no value (it has %s)", m.label, m.op, m.value, setList(values))
		}
	}

	// The function over a range, and the innermost aggregation.
	var rangeFn string
	var agg *pqAgg
	inAbsent := false
	for i := len(ancestors) - 1; i >= 0; i-- {
		switch a := ancestors[i].(type) {
		case *pqCall:
			if i == len(ancestors)-1 && s.rng != "" {
				rangeFn = a.fn
			}
			if a.fn == "absent" || a.fn == "absent_over_time" {
				inAbsent = true
			}
		case *pqAgg:
			if agg == nil {
				agg = a
			}
		}
	}
	if s.rng != "" {
		want, known := pqFunctions[rangeFn]
		switch {
		case !known:
			fail("a range [%s] outside a function", s.rng)
		case want == "counter" && fam.typ != "counter":
			fail("%s() over a %s: it is for counters", rangeFn, fam.typ)
		case want == "gauge" && fam.typ == "counter":
			fail("%s() over a counter: use rate() or increase()", rangeFn)
		}
	}
	if inAbsent {
		return errs
	}
	if fam.typ == "counter" && s.rng == "" {
		fail("a counter compared as it is: every process counts from its start; use rate() or increase()")
	}
	switch {
	case redisWide(s.name):
		if agg == nil || agg.op != "max" {
			fail("read from Redis by every api process alike: aggregate it with max() (deploy/README.md), not %s", aggName(agg))
		}
	case strings.HasPrefix(s.name, "pagereply_") && fam.typ == "counter":
		if agg == nil || agg.op != "sum" {
			fail("a per-process counter: sum its rate() or increase() across the processes, not %s", aggName(agg))
		}
	}
	return errs
}

func aggName(a *pqAgg) string {
	if a == nil {
		return "each process's series alone"
	}
	return a.op + "()"
}

// outLabels returns the labels of the series an expression yields; nil for a
// scalar.
func outLabels(n pqNode, c metricCatalogue) map[string]bool {
	switch x := n.(type) {
	case *pqSelector:
		if fam := c[x.name]; fam != nil {
			return labelNames(fam)
		}
		return map[string]bool{}
	case *pqCall:
		switch x.fn {
		case "absent", "absent_over_time":
			out := map[string]bool{}
			if len(x.args) == 1 {
				if s, ok := x.args[0].(*pqSelector); ok {
					for _, m := range s.matchers {
						if m.op == "=" {
							out[m.label] = true
						}
					}
				}
			}
			return out
		case "scalar", "time":
			return nil
		}
		for _, a := range x.args {
			if l := outLabels(a, c); l != nil {
				if x.fn == "histogram_quantile" {
					delete(l, "le")
				}
				return l
			}
		}
		return nil
	case *pqAgg:
		if !x.without {
			out := map[string]bool{}
			for _, l := range x.by {
				out[l] = true
			}
			return out
		}
		out := outLabels(x.arg, c)
		for _, l := range x.by {
			delete(out, l)
		}
		return out
	case *pqBinary:
		l, r := outLabels(x.lhs, c), outLabels(x.rhs, c)
		if l == nil {
			return r
		}
		if x.op == "or" && r != nil {
			out := map[string]bool{}
			for k := range l {
				if r[k] {
					out[k] = true
				}
			}
			return out
		}
		return l
	case *pqParen:
		return outLabels(x.e, c)
	case *pqUnary:
		return outLabels(x.e, c)
	case *pqSubquery:
		return outLabels(x.e, c)
	}
	return nil
}

func labelNames(f *metricFamily) map[string]bool {
	out := map[string]bool{}
	for k := range f.labels {
		out[k] = true
	}
	return out
}

func setList(m map[string]bool) string {
	if len(m) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(m), ", ")
}

// TestAlertChecksCanFail_audit13 proves the checks of TestAlertRules_audit13
// catch what they are for, against a catalogue shaped as the binary's.
func TestAlertChecksCanFail_audit13(t *testing.T) {
	cat := metricCatalogue{}
	if err := cat.add(`# TYPE pagereply_replies_failed_total counter
pagereply_replies_failed_total{class="permanent",page="1"} 0
# TYPE asynq_queue_size gauge
asynq_queue_size{queue="replies",state="archived"} 0
# TYPE pagereply_page_paused gauge
pagereply_page_paused{kind="page_broken",page="1"} 0
# TYPE pagereply_enqueue_to_send_seconds histogram
pagereply_enqueue_to_send_seconds_bucket{page="1",le="+Inf"} 1
pagereply_enqueue_to_send_seconds_sum{page="1"} 0.5
pagereply_enqueue_to_send_seconds_count{page="1"} 1
`); err != nil {
		t.Fatal(err)
	}
	good := `sum by (page) (increase(pagereply_replies_failed_total{class="permanent"}[1h])) > 0`
	n, err := parsePromQL(good)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkAlertExpr(n, cat, map[string]string{"summary": "{{ $labels.page }}"}); err != nil {
		t.Fatalf("the good expression fails: %v", err)
	}
	cases := []struct{ expr, annotation, want string }{
		{`sum by (page) (rate(pagereply_replies_faild_total[5m])) > 0`, "", "does not export"},
		{`sum by (page) (rate(pagereply_replies_failed_total{klass="permanent"}[5m])) > 0`, "", "no label klass"},
		{`sum by (page) (rate(pagereply_replies_failed_total{class="permanant"}[5m])) > 0`, "", `class="permanant"`},
		{`sum by (page) (rate(pagereply_replies_failed_total{class=~"permanent|too_olde"}[5m])) > 0`, "", `"too_olde"`},
		{`sum by (pages) (rate(pagereply_replies_failed_total[5m])) > 0`, "", "no label pages"},
		{`sum by (page) (pagereply_replies_failed_total) > 0`, "", "use rate() or increase()"},
		{`max by (page) (rate(pagereply_replies_failed_total[5m])) > 0`, "", "not max()"},
		{`rate(pagereply_replies_failed_total[5m]) > 0`, "", "each process's series alone"},
		{`sum by (queue) (asynq_queue_size{state="archived"}) > 0`, "", "with max()"},
		{`max by (page) (rate(pagereply_page_paused[5m])) > 0`, "", "for counters"},
		{`sum by (page) (deriv(pagereply_replies_failed_total[5m])) > 0`, "", "over a counter"},
		{`max by (page) (pagereply_page_paused{kind="page_broken"} == 1`, "", "unclosed"},
		{`max by (page) (pagereply_page_paused{kind="page_broken"}]) == 1`, "", "unbalanced"},
		{`max by (page) (avg_over_tim(pagereply_page_paused[5m])) > 0`, "", "unknown function"},
		{`max(pagereply_page_paused) by (page) == 1`, "", "the grouping first"},
		{`max by (kind) (pagereply_page_paused) == 1`, "{{ $labels.page }}", "$labels.page"},
		{`sum by (page) (rate(pagereply_enqueue_to_send_seconds_sum[5m])) / sum by (page) (rate(pagereply_enqueue_to_send_seconds_count[5m])) > 1 unless on (queue) max by (queue) (asynq_queue_size) > 0`, "", "no label queue"},
	}
	for _, tc := range cases {
		n, err := parsePromQL(tc.expr)
		if err == nil {
			var ann map[string]string
			if tc.annotation != "" {
				ann = map[string]string{"summary": tc.annotation}
			}
			err = checkAlertExpr(n, cat, ann)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error naming %q", tc.expr, err, tc.want)
		}
	}

	// The rule fields.
	rule := func(mod func(r *alertRule)) ruleFile {
		var f ruleFile
		for i := range 8 {
			r := alertRule{Alert: fmt.Sprintf("PagereplyRule%c", 'A'+i), Expr: good, For: "5m",
				Labels: map[string]string{"severity": "warning"}, Annotations: map[string]string{"summary": "s", "description": "d"}}
			if i == 0 {
				mod(&r)
			}
			f.Groups = append(f.Groups, ruleGroup{Name: fmt.Sprintf("g%d", i), Rules: []alertRule{r}})
		}
		return f
	}
	if _, errs := checkRuleFields(rule(func(*alertRule) {})); len(errs) > 0 {
		t.Fatalf("good rules fail: %v", errs)
	}
	for want, mod := range map[string]func(r *alertRule){
		"PagereplyCamelCase":      func(r *alertRule) { r.Alert = "page_broken" },
		"not a Prometheus":        func(r *alertRule) { r.For = "5 minutes" },
		"labels.severity":         func(r *alertRule) { r.Labels = nil },
		"annotations.summary":     func(r *alertRule) { delete(r.Annotations, "summary") },
		"annotations.description": func(r *alertRule) { r.Annotations["description"] = "{{ $value | humanise }}" },
		"expr":                    func(r *alertRule) { r.Expr = "sum(" },
	} {
		_, errs := checkRuleFields(rule(mod))
		if !strings.Contains(fmt.Sprint(errs), want) {
			t.Errorf("a rule broken for %q: got %v", want, errs)
		}
	}
	if _, err := loadRules([]byte("groups:\n  - name: g\n    rules:\n      - alert: PagereplyX\n        expr: up\n        keep_firing: 5m\n")); err == nil || !strings.Contains(err.Error(), "keep_firing") {
		t.Errorf("an unknown rule key: got %v", err)
	}
}

// alertScenarios are promtool unit tests of the rules: a healthy deployment,
// busy and idle, where none may fire, and for each alert a scenario where it
// must (and, beside it, one that looks alike and must not). They run the
// rules with their annotations left out, which promtool would otherwise
// compare text for text.
const alertScenarios = `rule_files: [alerts.yaml]
evaluation_interval: 1m
tests:
  # A healthy deployment with traffic: two api processes read the same
  # Redis, comments come in and are answered within seconds, polls are
  # enqueued every minute, a scanner posts to /webhook now and then.
  - name: healthy, busy
    interval: 1m
    input_series:
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="page_broken"}', values: '0x180'}
      - {series: 'pagereply_page_paused{instance="api-2",page="1",kind="page_broken"}', values: '0x180'}
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="policy_block"}', values: '0x180'}
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="throttled"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="pending"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="pending"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="retry"}', values: '2x180'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="retry"}', values: '2x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="archived"}', values: '4x180'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="archived"}', values: '4x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="polls",state="pending"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="polls",state="archived"}', values: '0x180'}
      - {series: 'asynq_queue_latency_seconds{instance="api-1",queue="replies"}', values: '0x180'}
      - {series: 'asynq_queue_latency_seconds{instance="api-1",queue="polls"}', values: '0.5x180'}
      - {series: 'pagereply_replies_failed_total{instance="worker-1",page="1",class="permanent"}', values: '0x180'}
      - {series: 'pagereply_replies_failed_total{instance="worker-1",page="1",class="too_old"}', values: '2x180'}
      - {series: 'pagereply_replies_failed_total{instance="worker-1",page="1",class="transient"}', values: '0+0.1x180'}
      - {series: 'pagereply_replies_sent_total{instance="worker-1",page="1",source="poll"}', values: '0+1x180'}
      - {series: 'pagereply_enqueued_total{instance="worker-1",page="1",source="poll",outcome="enqueued"}', values: '0+1x180'}
      - {series: 'pagereply_enqueued_total{instance="api-1",page="1",source="webhook_item",outcome="enqueued"}', values: '0+1x180'}
      - {series: 'pagereply_enqueue_to_send_seconds_sum{instance="worker-1",page="1"}', values: '0+3x180'}
      - {series: 'pagereply_enqueue_to_send_seconds_count{instance="worker-1",page="1"}', values: '0+1x180'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="messages",code="0"}', values: '0+1x180'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="messages",code="10900"}', values: '0+0.05x180'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="feed",code="0"}', values: '0+2x180'}
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="1",outcome="enqueued"}', values: '0+1x180'}
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-2",page="1",outcome="taken"}', values: '0+1x180'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="accepted"}', values: '0+1x180'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="bad_signature"}', values: '0+0.05x180'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="error"}', values: '0x180'}
    alert_rule_test: &none
      - {eval_time: 170m, alertname: PagereplyPageBrokenOrBlocked}
      - {eval_time: 170m, alertname: PagereplyPageThrottledLong}
      - {eval_time: 170m, alertname: PagereplyRepliesFailedPermanently}
      - {eval_time: 170m, alertname: PagereplyArchivedTasksRising}
      - {eval_time: 170m, alertname: PagereplyRepliesQueuedNoneSent}
      - {eval_time: 170m, alertname: PagereplyReplyBacklogGrowing}
      - {eval_time: 170m, alertname: PagereplyQueueLatencyHigh}
      - {eval_time: 170m, alertname: PagereplySendLatencyHigh}
      - {eval_time: 170m, alertname: PagereplyWebhookSignatureRefused}
      - {eval_time: 170m, alertname: PagereplyWebhookErrors}
      - {eval_time: 170m, alertname: PagereplyQueuesUnreadable}
      - {eval_time: 170m, alertname: PagereplyPollsNotEnqueued}
      - {eval_time: 170m, alertname: PagereplySchedulerNotScraped}
      - {eval_time: 170m, alertname: PagereplyGraphErrors}

  # Idle: no comment comes in, nothing is sent, only the polls run.
  - name: healthy, idle
    interval: 1m
    input_series:
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="page_broken"}', values: '0x180'}
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="policy_block"}', values: '0x180'}
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="throttled"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="pending"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="retry"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="archived"}', values: '0x180'}
      - {series: 'asynq_queue_size{instance="api-1",queue="polls",state="pending"}', values: '0x180'}
      - {series: 'asynq_queue_latency_seconds{instance="api-1",queue="polls"}', values: '0x180'}
      - {series: 'pagereply_replies_failed_total{instance="worker-1",page="1",class="permanent"}', values: '0x180'}
      - {series: 'pagereply_replies_sent_total{instance="worker-1",page="1",source="poll"}', values: '0x180'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="feed",code="0"}', values: '0+1x180'}
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="1",outcome="enqueued"}', values: '0+1x180'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="accepted"}', values: '0x180'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="bad_signature"}', values: '0x180'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="error"}', values: '0x180'}
    alert_rule_test: *none

  # Page 1's token expired: paused 5 minutes, paused again by the next call.
  # Page 2 had one page_broken pause, lifted. Page 3 is blocked by Meta.
  - name: page broken or blocked
    interval: 1m
    input_series:
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="page_broken"}', values: '0 0 0 0 1 1 1 1 1 0 1 1 1 1 1 0 1 1 1 1 1'}
      - {series: 'pagereply_page_paused{instance="api-2",page="1",kind="page_broken"}', values: '0 0 0 0 1 1 1 1 1 0 1 1 1 1 1 0 1 1 1 1 1'}
      - {series: 'pagereply_page_paused{instance="api-1",page="2",kind="page_broken"}', values: '0 0 0 0 0 0 0 0 0 0 0 1 1 1 1 1 0 0 0 0 0'}
      - {series: 'pagereply_page_paused{instance="api-1",page="3",kind="policy_block"}', values: '0x8 1x12'}
    alert_rule_test:
      - eval_time: 20m
        alertname: PagereplyPageBrokenOrBlocked
        exp_alerts:
          - exp_labels: {severity: critical, page: "1", kind: page_broken}
          - exp_labels: {severity: critical, page: "3", kind: policy_block}

  - name: throttled most of an hour
    interval: 1m
    input_series:
      - {series: 'pagereply_page_paused{instance="api-1",page="1",kind="throttled"}', values: '0x10 1x50'}
      - {series: 'pagereply_page_paused{instance="api-1",page="2",kind="throttled"}', values: '0x10 1x20 0x30'}
    alert_rule_test:
      - eval_time: 60m
        alertname: PagereplyPageThrottledLong
        exp_alerts:
          - exp_labels: {severity: warning, page: "1"}

  - name: a reply failed for good
    interval: 1m
    input_series:
      - {series: 'pagereply_replies_failed_total{instance="worker-1",page="1",class="permanent"}', values: '0x30 1x30'}
      - {series: 'pagereply_replies_failed_total{instance="worker-2",page="1",class="permanent"}', values: '0x60'}
      - {series: 'pagereply_replies_failed_total{instance="worker-1",page="1",class="transient"}', values: '0+1x60'}
    alert_rule_test:
      - eval_time: 40m
        alertname: PagereplyRepliesFailedPermanently
        exp_alerts:
          - exp_labels: {severity: warning, page: "1", class: permanent}
      - eval_time: 40m
        alertname: PagereplyArchivedTasksRising

  - name: a task archived
    interval: 1m
    input_series:
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="archived"}', values: '4x30 5x30'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="archived"}', values: '4x30 5x30'}
      - {series: 'asynq_queue_size{instance="api-1",queue="polls",state="archived"}', values: '1x60'}
    alert_rule_test:
      - eval_time: 40m
        alertname: PagereplyArchivedTasksRising
        exp_alerts:
          - exp_labels: {severity: warning, queue: replies}

  # Page 1's replies are queued, none sent; page 2's are sent.
  - name: replies queued, none sent
    interval: 1m
    input_series:
      - {series: 'pagereply_enqueued_total{instance="worker-1",page="1",source="poll",outcome="enqueued"}', values: '0+1x90'}
      - {series: 'pagereply_enqueued_total{instance="api-1",page="1",source="webhook_item",outcome="enqueued"}', values: '0+1x90'}
      - {series: 'pagereply_replies_sent_total{instance="worker-1",page="1",source="poll"}', values: '10x90'}
      - {series: 'pagereply_enqueued_total{instance="worker-1",page="2",source="poll",outcome="enqueued"}', values: '0+1x90'}
      - {series: 'pagereply_replies_sent_total{instance="worker-2",page="2",source="poll"}', values: '0+1x90'}
      # Page 3 only had webhook items queued (each becomes a reply only when a worker reads it).
      - {series: 'pagereply_enqueued_total{instance="api-1",page="3",source="webhook_item",outcome="enqueued"}', values: '0+1x90'}
      - {series: 'pagereply_replies_sent_total{instance="worker-1",page="3",source="poll"}', values: '0x90'}
    alert_rule_test:
      - eval_time: 80m
        alertname: PagereplyRepliesQueuedNoneSent
        exp_alerts:
          - exp_labels: {severity: critical, page: "1"}

  - name: reply backlog growing
    interval: 1m
    input_series:
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="pending"}', values: '0+1x120'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="pending"}', values: '0+1x120'}
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="retry"}', values: '0+2x120'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="retry"}', values: '0+2x120'}
    alert_rule_test:
      - eval_time: 80m
        alertname: PagereplyReplyBacklogGrowing
        exp_alerts:
          - exp_labels: {severity: warning, queue: replies}

  # Two api processes serve the same 80 waiting replies: 160 if summed.
  - name: a backlog below the threshold, seen by two api processes
    interval: 1m
    input_series:
      - {series: 'asynq_queue_size{instance="api-1",queue="replies",state="retry"}', values: '0+0.66x120'}
      - {series: 'asynq_queue_size{instance="api-2",queue="replies",state="retry"}', values: '0+0.66x120'}
    alert_rule_test:
      - eval_time: 120m
        alertname: PagereplyReplyBacklogGrowing

  - name: no worker takes the polls
    interval: 1m
    input_series:
      - {series: 'asynq_queue_latency_seconds{instance="api-1",queue="polls"}', values: '0+60x20'}
      - {series: 'asynq_queue_latency_seconds{instance="api-2",queue="polls"}', values: '0+60x20'}
      - {series: 'asynq_queue_latency_seconds{instance="api-1",queue="replies"}', values: '0x20'}
    alert_rule_test:
      - eval_time: 15m
        alertname: PagereplyQueueLatencyHigh
        exp_alerts:
          - exp_labels: {severity: critical, queue: polls}

  - name: replies an hour late
    interval: 1m
    input_series:
      - {series: 'pagereply_enqueue_to_send_seconds_sum{instance="worker-1",page="1"}', values: '0+3600x90'}
      - {series: 'pagereply_enqueue_to_send_seconds_count{instance="worker-1",page="1"}', values: '0+1x90'}
      - {series: 'pagereply_enqueue_to_send_seconds_sum{instance="worker-1",page="2"}', values: '0+5x90'}
      - {series: 'pagereply_enqueue_to_send_seconds_count{instance="worker-1",page="2"}', values: '0+1x90'}
    alert_rule_test:
      - eval_time: 60m
        alertname: PagereplySendLatencyHigh
        exp_alerts:
          - exp_labels: {severity: warning, page: "1"}

  - name: wrong app secret
    interval: 1m
    input_series:
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="bad_signature"}', values: '0+1x60'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-2",outcome="bad_signature"}', values: '0+1x60'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="accepted"}', values: '0x60'}
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="ignored"}', values: '0x60'}
    alert_rule_test:
      - eval_time: 50m
        alertname: PagereplyWebhookSignatureRefused
        exp_alerts:
          - exp_labels: {severity: warning}

  - name: webhook deliveries not queued
    interval: 1m
    input_series:
      - {series: 'pagereply_webhook_deliveries_total{instance="api-1",outcome="error"}', values: '0+1x40'}
    alert_rule_test:
      - eval_time: 30m
        alertname: PagereplyWebhookErrors
        exp_alerts:
          - exp_labels: {severity: warning}

  # The api processes lose Redis at 10m: their scrapes leave the gauges out.
  - name: Redis out of reach
    interval: 1m
    input_series:
      - {series: 'asynq_queue_size{instance="api-1",queue="polls",state="pending"}', values: '0x10'}
    alert_rule_test:
      - eval_time: 30m
        alertname: PagereplyQueuesUnreadable
        exp_alerts:
          - exp_labels: {severity: critical, queue: polls}

  # Page 1's slots fail from 30m on; page 2's are enqueued.
  - name: a Page's polls not enqueued
    interval: 1m
    input_series:
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="1",outcome="enqueued"}', values: '0+1x30 30x80'}
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="1",outcome="error"}', values: '0x30 0+1x80'}
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="2",outcome="enqueued"}', values: '0+1x110'}
      # Page 3's token broke: its slots are skipped, which PagereplyPageBrokenOrBlocked says.
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="3",outcome="enqueued"}', values: '0+1x30 30x80'}
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="3",outcome="page_broken"}', values: '0x30 0+1x80'}
    alert_rule_test:
      - eval_time: 110m
        alertname: PagereplyPollsNotEnqueued
        exp_alerts:
          - exp_labels: {severity: warning, page: "1"}

  # The only scheduler stops at 10m.
  - name: no scheduler
    interval: 1m
    input_series:
      - {series: 'pagereply_polls_scheduled_total{instance="scheduler-1",page="1",outcome="enqueued"}', values: '0+1x10'}
    alert_rule_test:
      - eval_time: 50m
        alertname: PagereplySchedulerNotScraped
        exp_alerts:
          - exp_labels: {severity: critical, outcome: enqueued}

  - name: Graph sends failing
    interval: 1m
    input_series:
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="messages",code="0"}', values: '0+10x60'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="messages",code="network"}', values: '0+6x60'}
      - {series: 'pagereply_graph_calls_total{instance="worker-2",endpoint="messages",code="http_502"}', values: '0+6x60'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="feed",code="0"}', values: '0+10x60'}
      - {series: 'pagereply_graph_calls_total{instance="worker-1",endpoint="feed",code="190"}', values: '0+0.1x60'}
    alert_rule_test:
      - eval_time: 45m
        alertname: PagereplyGraphErrors
        exp_alerts:
          - exp_labels: {severity: warning, endpoint: messages}
`

// TestAlertBehaviour_audit13 runs alertScenarios with promtool when it is
// installed (Debian's prometheus package has it; .ci/run fetches it, and
// under CI a missing promtool fails the test); without it, it checks only
// that every alert has a scenario where it fires and is silent in the healthy
// ones.
func TestAlertBehaviour_audit13(t *testing.T) {
	data, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := loadRules(data)
	if err != nil {
		t.Fatal(err)
	}
	var scen struct {
		Tests []struct {
			Name  string `yaml:"name"`
			Cases []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal([]byte(alertScenarios), &scen); err != nil {
		t.Fatal(err)
	}
	alerts := map[string]bool{}
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
		}
	}
	fires, silentHealthy := map[string]bool{}, map[string]int{}
	healthy := 0
	for _, tc := range scen.Tests {
		isHealthy := strings.HasPrefix(tc.Name, "healthy")
		if isHealthy {
			healthy++
		}
		for _, c := range tc.Cases {
			if !alerts[c.Alertname] {
				t.Errorf("scenario %q tests %s, which %s does not have", tc.Name, c.Alertname, alertsFile)
			}
			switch {
			case isHealthy && len(c.ExpAlerts) > 0:
				t.Errorf("scenario %q expects %s to fire on a healthy deployment", tc.Name, c.Alertname)
			case isHealthy:
				silentHealthy[c.Alertname]++
			case len(c.ExpAlerts) > 0:
				fires[c.Alertname] = true
			}
		}
	}
	for a := range alerts {
		if !fires[a] {
			t.Errorf("no scenario where %s fires", a)
		}
		if silentHealthy[a] != healthy {
			t.Errorf("%s is not checked silent in each of the %d healthy scenarios", a, healthy)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		// .ci/run fetches promtool: under CI the scenarios must run.
		if os.Getenv("CI") != "" {
			t.Fatal("promtool is not installed: the alert scenarios were not run")
		}
		t.Skip("promtool not installed: the scenarios were not run")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	stripped := 0
	for _, g := range getKey(doc.Content[0], "groups").Content {
		for _, r := range getKey(g, "rules").Content {
			for i := 0; i+1 < len(r.Content); i += 2 {
				if r.Content[i].Value == "annotations" {
					r.Content = append(r.Content[:i], r.Content[i+2:]...)
					stripped++
					break
				}
			}
		}
	}
	if stripped != len(alerts) {
		t.Fatalf("left out the annotations of %d rules, want %d", stripped, len(alerts))
	}
	rules, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, content := range map[string][]byte{"alerts.yaml": rules, "scenarios.yaml": []byte(alertScenarios)} {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(promtool, "test", "rules", "scenarios.yaml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}
