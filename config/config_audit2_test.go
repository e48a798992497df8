package config

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestParseAcceptsAudit2: valid configurations load: every log level and
// format SPEC's config knows, a Redis URL on the default port, a secret
// that starts with $ but is not written as an environment variable's name
// ($ is kept as text), and a secret shorter than minSecretInText that turns
// up in a reply text as an ordinary word.
func TestParseAcceptsAudit2(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"log debug text", minimal + "log: {level: debug, format: text}\n"},
		{"log warn", minimal + "log: {level: warn}\n"},
		{"log error", minimal + "log: {level: error}\n"},
		{"redis url without a port", minimal + "redis: {url: \"redis://redis/0\"}\n"},
		{"token starting with $ in lower case", "pages:\n  - {id: \"1\", access_token: \"$ab3Secret\"}\n"},
		{"7-character verify token in a text", withPage(`default_text: "welcome, {{.FirstName}}!"`,
			"graph: {app_secret: s3cr3t-app-secret}\nwebhook: {verify_token: welcome}\n")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.yaml), env(nil)); err != nil {
				t.Errorf("refused: %v", err)
			}
		})
	}
}

// TestParseRefusesAudit2: broken configurations are refused at their key,
// with a message that says what is wrong.
func TestParseRefusesAudit2(t *testing.T) {
	for _, tc := range []struct{ name, yaml, path, msg string }{
		{"negative api port", minimal + "api: {addr: \":-1\"}\n", "api.addr", "no valid port"},
		{"base_url without host", minimal + "graph: {base_url: \"https://\"}\n", "graph.base_url", "no host"},
		{"redis url with a control character inside", minimal + "redis: {url: \"redis://127.0.0.1:6379/0\\x01\"}\n", "redis.url", "control character"},
		{"CRON_TZ with no schedule", withPage(`schedule: "CRON_TZ=Europe/Paris"`, ""), "pages[0].schedule", "no schedule after it"},
		{"CRON_TZ unknown zone", withPage(`schedule: "CRON_TZ=Mars/Olympus */5 * * * *"`, ""), "pages[0].schedule", "not known"},
		{"empty schedule", withPage(`schedule: ""`, ""), "pages[0].schedule", "is empty"},
		{"@every with no duration", withPage(`schedule: "@every soon"`, ""), "pages[0].schedule", "@every needs a Go duration"},
		{"zone, two spaces, @every 0s", withPage(`schedule: "TZ=UTC  @every 0s"`, ""), "pages[0].schedule", "positive duration"},
		{"unknown key with a dash is named", withPage(`access-token: x`, ""), "pages[0].access-token", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.yaml), env(nil)); !hasFieldError(t, err, tc.path, tc.msg) {
				t.Errorf("no error at %q containing %q in: %v", tc.path, tc.msg, err)
			}
		})
	}
}

// TestValidateZeroRateCount: a Config built in code with a rate of 0 per
// second is refused, as Parse refuses "0/s".
func TestValidateZeroRateCount(t *testing.T) {
	c := defaultConfig()
	c.Redis.URL = DefaultRedisURL
	c.Pages = []Page{defaultPage()}
	c.Pages[0].ID, c.Pages[0].AccessToken = "1", "t"
	c.Pages[0].Rate = Rate{N: 0, Per: time.Second}
	for _, fe := range fieldErrors(t, c.Validate()) {
		if fe.Path == "pages[0].rate" {
			return
		}
	}
	t.Error("rate 0/s accepted")
}

// TestEnvMessagesAudit2: errors on values from the environment name the
// variable, say which are empty (and only those), and show no piece of a
// value, even one of four characters.
func TestEnvMessagesAudit2(t *testing.T) {
	parse := func(yaml string, vars map[string]string) map[string]string {
		t.Helper()
		_, err := Parse([]byte(yaml), env(vars))
		got := map[string]string{}
		for _, fe := range fieldErrors(t, err) {
			got[fe.Path] = fe.Msg
		}
		return got
	}
	t.Run("empty host variable", func(t *testing.T) {
		got := parse(minimal+"redis: {sentinel: {master: m, addrs: [\"${SENTINEL_HOST}:26379\"]}}\n", map[string]string{"SENTINEL_HOST": ""})
		msg := got["redis.sentinel.addrs[0]"]
		if !strings.HasPrefix(msg, "has no host;") || !strings.HasSuffix(msg, "(${SENTINEL_HOST} is set but empty)") || strings.Count(msg, "${") != 1 {
			t.Errorf("message %q, want \"has no host; ...\" naming ${SENTINEL_HOST} once as set but empty", msg)
		}
	})
	t.Run("set variable is not called empty", func(t *testing.T) {
		got := parse(minimal+"api: {addr: \"${ADDR}\"}\n", map[string]string{"ADDR": "nonsense"})
		if msg := got["api.addr"]; msg == "" || strings.Contains(msg, "empty") {
			t.Errorf("api.addr message %q, want an error that does not call ${ADDR} empty", msg)
		}
	})
	t.Run("four-character piece hidden", func(t *testing.T) {
		got := parse(minimal+"api: {addr: \"${ADDR}\"}\n", map[string]string{"ADDR": "1.23:8080"})
		if msg := got["api.addr"]; msg == "" || strings.Contains(msg, "1.23") {
			t.Errorf("api.addr message %q: want an error that does not show the host taken from ${ADDR}", msg)
		}
	})
	t.Run("unset variable with digits is named", func(t *testing.T) {
		_, err := Parse([]byte("pages:\n  - {id: \"1\", access_token: \"${PAGE_TOKEN_2}\"}\n"), env(nil))
		if err == nil || !strings.Contains(err.Error(), "PAGE_TOKEN_2 is not set") {
			t.Errorf("error %v, want it to name PAGE_TOKEN_2", err)
		}
	})
}

// TestScheduleTimeZoneKept: a TZ= schedule runs in its zone, not in UTC.
func TestScheduleTimeZoneKept(t *testing.T) {
	s, err := ParseSchedule("TZ=America/New_York 0 9 * * *")
	if err != nil {
		t.Fatal(err)
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip(err)
	}
	next := s.Next(time.Date(2026, time.January, 5, 0, 0, 0, 0, time.UTC)).In(ny)
	if next.Hour() != 9 || next.Minute() != 0 {
		t.Errorf("next run %v, want 09:00 New York time", next)
	}
}

// TestCheckTextControlPositionAudit2: the position of a control character
// counts characters, not bytes, of a leading white space that is not ASCII.
func TestCheckTextControlPositionAudit2(t *testing.T) {
	_, err := CheckText("\u00a0\u3000a\x01")
	var ce *ControlError
	if !errors.As(err, &ce) || ce.At != 4 {
		t.Errorf("CheckText = %v, want a ControlError at character 4", err)
	}
}

// TestRenderRunawayStopped: a template writing far past any reply is stopped
// at maxRenderBytes, not rendered whole.
func TestRenderRunawayStopped(t *testing.T) {
	_, err := execute(nil, "t", `{{printf "%0200000d" 0}}`, sampleData("1"))
	if !errors.Is(err, ErrTextTooLong) || !strings.Contains(err.Error(), "more than 65536 bytes") {
		t.Errorf("err %v, want ErrTextTooLong at the render limit", err)
	}
}

// TestRenderQuoteCutToFit: a long comment quoted once is cut so that the
// reply uses all MaxTextRunes characters, ellipsis included.
func TestRenderQuoteCutToFit(t *testing.T) {
	p := renderPage(t, "default_text: \"Hi {{.FirstName}}, you wrote: {{.Message}}\"")
	text, ok, err := p.Render(TemplateData{Name: "Alex Doe", Message: strings.Repeat("x", 3000)})
	if err != nil || !ok {
		t.Fatalf("Render: %v, %v", ok, err)
	}
	if n := utf8.RuneCountInString(text); n != MaxTextRunes || !strings.HasSuffix(text, "x…") {
		t.Errorf("text of %d runes ending %q, want %d ending with x…", n, text[len(text)-10:], MaxTextRunes)
	}
}
