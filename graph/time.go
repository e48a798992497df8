package graph

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Unix seconds accepted by Time.UnmarshalJSON: years 1 to 9999, which
// TimeLayout can write back.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// UnmarshalJSON decodes Graph's "2006-01-02T15:04:05-0700", RFC 3339, or a
// number of Unix seconds (as the webhook sends). null and "" leave the zero Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Time{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("graph: time: %w", err)
		}
		if s == "" {
			*t = Time{}
			return nil
		}
		for _, layout := range []string{TimeLayout, time.RFC3339Nano} {
			if v, err := time.Parse(layout, s); err == nil && v.Year() >= 1 && v.Year() <= 9999 {
				*t = Time{v}
				return nil
			}
		}
		return fmt.Errorf("graph: time: cannot parse %s", quoted(b))
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < float64(minUnix) || f > float64(maxUnix) {
		return fmt.Errorf("graph: time: cannot parse %s", quoted(b))
	}
	sec, frac := math.Modf(f)
	*t = Time{time.Unix(int64(sec), int64(frac*1e9)).UTC()}
	return nil
}

// MarshalJSON writes the time in TimeLayout, as Graph does.
func (t Time) MarshalJSON() ([]byte, error) {
	if y := t.Year(); y < 1 || y > 9999 {
		return nil, fmt.Errorf("graph: time: year %d out of range", y)
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}
