package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// scheduleParser reads cron specs as cron.New does by default.
var scheduleParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// scheduleForms says how a schedule is written.
const scheduleForms = `write five cron fields (minute hour day-of-month month day-of-week), like "*/5 * * * *", or @every 1m, @hourly, @daily, @weekly, @monthly`

// cronFields names the five fields of a cron spec and says what each holds.
var cronFields = [5]struct{ name, want string }{
	{"minute (1st)", "0-59"},
	{"hour (2nd)", "0-23"},
	{"day-of-month (3rd)", "1-31 or ?"},
	{"month (4th)", "1-12 or jan-dec"},
	{"day-of-week (5th)", "0-6 (0 is Sunday), sun-sat or ?"},
}

// ParseSchedule parses a Page schedule as the scheduler runs it: five cron
// fields ("*/5 * * * *") or a descriptor ("@hourly", "@every 1m"), after an
// optional TZ=zone or CRON_TZ=zone. Its errors say what is wrong in their own
// words and never quote spec, which may be a secret pasted into the wrong key
// (the cron library's messages quote the fields).
func ParseSchedule(spec string) (cron.Schedule, error) {
	spec = strings.TrimSpace(spec)
	body := spec
	if strings.HasPrefix(body, "TZ=") || strings.HasPrefix(body, "CRON_TZ=") {
		// cron panics on a zone with nothing after it, and quotes the zone
		// when it does not know it.
		zone, rest, ok := strings.Cut(body, " ")
		if !ok || strings.TrimSpace(rest) == "" {
			return nil, errors.New("has a time zone (TZ=...) but no schedule after it; " + scheduleForms)
		}
		_, name, _ := strings.Cut(zone, "=")
		if _, err := time.LoadLocation(name); err != nil {
			return nil, errors.New("names a time zone (TZ=...) that is not known; write an IANA zone like TZ=Europe/Paris")
		}
		body = strings.TrimSpace(rest)
	}
	if d, ok := strings.CutPrefix(body, "@every "); ok {
		// cron quietly turns a zero or negative interval into 1s, one under
		// a second into 1s too, and drops a fraction of a second: the Page
		// would be polled on another schedule than the one written.
		every, err := time.ParseDuration(strings.TrimSpace(d))
		switch {
		case err != nil:
		case every <= 0:
			return nil, errors.New("@every needs a positive duration, like @every 1m")
		case every < time.Second || every%time.Second != 0:
			return nil, errors.New("@every runs in whole seconds, at least 1s: write a duration like @every 1m or @every 90s")
		}
	}
	s, err := scheduleParser.Parse(spec)
	if err != nil {
		return nil, scheduleError(body)
	}
	if s.Next(time.Now()).IsZero() {
		// A day no month has (30 February, 31 April): cron takes it, and
		// the scheduler would poll once at start and never again.
		return nil, errors.New("never runs: no date matches it (a day the month does not have, like 30 February)")
	}
	return s, nil
}

// scheduleError says what is wrong with body, a schedule cron rejects
// (without its time zone), without quoting it.
func scheduleError(body string) error {
	switch {
	case body == "":
		return errors.New("is empty; " + scheduleForms)
	case strings.HasPrefix(body, "@every"):
		return errors.New("@every needs a Go duration after it, like @every 1m or @every 90s")
	case strings.HasPrefix(body, "@"):
		return errors.New("is not a descriptor cron knows; use @every <duration>, @hourly, @daily, @weekly, @monthly or @yearly")
	}
	fields := strings.Fields(body)
	if n := len(fields); n != 5 {
		word := "fields"
		if n == 1 {
			word = "field"
		}
		return fmt.Errorf("has %d %s, not 5 (seconds are not supported); %s", n, word, scheduleForms)
	}
	// Find the field at fault: the first that cron rejects with "*" in
	// every other field.
	for i, f := range cronFields {
		try := []string{"*", "*", "*", "*", "*"}
		try[i] = fields[i]
		if _, err := scheduleParser.Parse(strings.Join(try, " ")); err != nil {
			return fmt.Errorf("the %s field is not valid: write %s, a range like 1-5, a list like 1,15, a step like */10, or *", f.name, f.want)
		}
	}
	return errors.New("is not a valid schedule; " + scheduleForms)
}
