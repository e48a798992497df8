package graph

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRegain caps a time to regain access read from headers, so that a corrupt
// header cannot pause a Page for years.
const maxRegain = 24 * time.Hour

// usageFigures is the shape of X-App-Usage, X-Page-Usage and each entry of
// X-Business-Use-Case-Usage. Numbers may come as numbers or strings.
type usageFigures struct {
	CallCount    flexFloat `json:"call_count"`
	TotalCPUTime flexFloat `json:"total_cputime"`
	TotalTime    flexFloat `json:"total_time"`
	Regain       flexFloat `json:"estimated_time_to_regain_access"`
}

// ParseUsage reads Graph's throttling headers: X-App-Usage and X-Page-Usage
// ({"call_count":N,"total_cputime":N,"total_time":N}, X-Page-Usage optionally
// with estimated_time_to_regain_access in minutes) and
// X-Business-Use-Case-Usage ({"<id>":[{"type":"pages","call_count":N,...,
// "estimated_time_to_regain_access":MINUTES}]}). MaxPercent is the highest
// figure of all, clamped to 0..1000; RegainAccess the longest time to regain
// access, at most 24 hours; AppPercent the highest figure of X-App-Usage
// alone. Malformed headers are ignored.
//
// Graph sends these headers with every answer, so they are read by a small
// scanner (usagescan.go) that handles their usual flat shape without
// allocating, and by encoding/json otherwise; a fuzz test holds both to the
// same result.
func ParseUsage(h http.Header) Usage {
	var u Usage
	for _, v := range h.Values("X-App-Usage") {
		var a Usage
		if !scanFigures(v, &a) {
			addFiguresJSON(v, &a)
		}
		u.addApp(a)
	}
	for _, v := range h.Values("X-Page-Usage") {
		if !scanFigures(v, &u) {
			addFiguresJSON(v, &u)
		}
	}
	for _, v := range h.Values("X-Business-Use-Case-Usage") {
		if !scanBUC(v, &u) {
			addBUCJSON(v, &u)
		}
	}
	return u
}

// parseUsageJSON is ParseUsage by encoding/json alone: the reference the
// scanner is fuzzed against.
func parseUsageJSON(h http.Header) Usage {
	var u Usage
	for _, v := range h.Values("X-App-Usage") {
		var a Usage
		addFiguresJSON(v, &a)
		u.addApp(a)
	}
	for _, v := range h.Values("X-Page-Usage") {
		addFiguresJSON(v, &u)
	}
	for _, v := range h.Values("X-Business-Use-Case-Usage") {
		addBUCJSON(v, &u)
	}
	return u
}

func (u *Usage) add(f usageFigures) {
	for _, v := range []flexFloat{f.CallCount, f.TotalCPUTime, f.TotalTime} {
		if p := clampPercent(float64(v)); p > u.MaxPercent {
			u.MaxPercent = p
		}
	}
	if d := regain(float64(f.Regain)); d > u.RegainAccess {
		u.RegainAccess = d
	}
}

// addApp adds the figures of one X-App-Usage header, read into a.
func (u *Usage) addApp(a Usage) {
	u.MaxPercent = max(u.MaxPercent, a.MaxPercent)
	u.AppPercent = max(u.AppPercent, a.MaxPercent)
	u.RegainAccess = max(u.RegainAccess, a.RegainAccess)
}

func addFiguresJSON(v string, u *Usage) {
	var f usageFigures
	if json.Unmarshal([]byte(v), &f) == nil {
		u.add(f)
	}
}

// addBUCJSON adds X-Business-Use-Case-Usage v to u, all or nothing. Every
// list counts, a repeated id's too: Meta's own sample of the header names one
// object twice, once per type, and a map would keep only the last list,
// losing a block the earlier one reports.
func addBUCJSON(v string, u *Usage) {
	if !json.Valid([]byte(v)) {
		return
	}
	dec := json.NewDecoder(strings.NewReader(v))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return // null, or not an object
	}
	w := *u
	for dec.More() {
		if _, err := dec.Token(); err != nil { // the id
			return
		}
		var list []usageFigures
		if dec.Decode(&list) != nil {
			return
		}
		for _, f := range list {
			w.add(f)
		}
	}
	*u = w
}

func clampPercent(f float64) int {
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= 1000:
		return 1000
	}
	return int(math.Ceil(f))
}

// regain converts estimated_time_to_regain_access (minutes) to a duration.
func regain(minutes float64) time.Duration {
	if math.IsNaN(minutes) || minutes <= 0 {
		return 0
	}
	if minutes >= maxRegain.Minutes() {
		return maxRegain
	}
	return time.Duration(minutes * float64(time.Minute))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date. It returns 0
// when the header is absent, malformed or in the past, and at most a day.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n >= int64(maxRegain/time.Second) {
			return maxRegain
		}
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRegain)
}

// flexFloat decodes a JSON number or a numeric string; anything else is 0.
type flexFloat float64

func (n *flexFloat) UnmarshalJSON(b []byte) error {
	f, ok := parseNumber(b)
	if !ok {
		f = 0
	}
	*n = flexFloat(f)
	return nil
}
