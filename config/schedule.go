package config

import (
	"errors"
	"fmt"
	"hash/fnv"
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

// Every is an "@every D" schedule whose times are Offset past the multiples
// of D since Go's zero time (time.Truncate's; the Unix epoch's for a D that
// divides a day), so every scheduler replica fires at the same
// instants (cron's own counts from when each process started) and names the
// same slot.
type Every struct{ D, Offset time.Duration }

// Next returns the first time of the schedule after t.
func (e Every) Next(t time.Time) time.Time { return t.Add(-e.Offset).Truncate(e.D).Add(e.D + e.Offset) }

// shifted is a cron schedule whose every time comes off later.
type shifted struct {
	s   cron.Schedule
	off time.Duration
}

func (s shifted) Next(t time.Time) time.Time {
	n := s.s.Next(t.Add(-s.off))
	if n.IsZero() {
		return n
	}
	return n.Add(s.off)
}

// Offset returns s running off later: an "@every" schedule aligned to the
// epoch (Every), a cron spec at each of its times plus off (off must stay
// under a minute, the least gap between a spec's times).
func Offset(s cron.Schedule, off time.Duration) cron.Schedule {
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		return Every{D: c.Delay, Offset: off}
	}
	if off <= 0 {
		return s
	}
	return shifted{s: s, off: off}
}

// PollOffset is how long after its schedule's times the Page pageID is
// polled: whole seconds, fixed for the Page, and spread evenly over the
// "@every" interval (over a minute for a cron spec) across Pages, so an
// agency's thousands of Pages on one schedule do not all poll, and call
// Graph on the app's shared allowance, in the same second.
func PollOffset(pageID string, s cron.Schedule) time.Duration {
	period := time.Minute
	if c, ok := s.(cron.ConstantDelaySchedule); ok {
		period = c.Delay
	}
	secs := uint64(period / time.Second)
	if secs < 2 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(pageID))
	return time.Duration(h.Sum64()%secs) * time.Second
}

// PollSchedule returns when the scheduler polls the Page pageID on spec
// (ParseSchedule's forms): the spec's times, epoch-aligned for "@every", plus
// the Page's PollOffset. The scheduler and the worker (which drops a poll
// once its Page's next one is due) read the same times from it.
func PollSchedule(pageID, spec string) (cron.Schedule, error) {
	s, err := ParseSchedule(spec)
	if err != nil {
		return nil, err
	}
	return Offset(s, PollOffset(pageID, s)), nil
}
