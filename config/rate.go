package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ParseRate parses a rate written N/unit: "10/s", "600/m", "36000/h", or with
// a Go duration as the period, "5/500ms" or "10/2s". N and the period must be
// positive.
func ParseRate(s string) (Rate, error) {
	num, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, errors.New("want N/s, N/m or N/h, like 10/s")
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		if _, ferr := strconv.ParseFloat(strings.TrimSpace(num), 64); ferr == nil && strings.ContainsAny(num, ".eE") {
			// A fraction ("0.5/s"): say how to write one.
			return Rate{}, errors.New("the count before / is not a whole number (for a fraction, lengthen the period: 1/2s or 30/m for half a send a second)")
		}
		return Rate{}, errors.New("the count before / is not a whole number")
	}
	if n <= 0 {
		return Rate{}, errors.New("the count must be positive")
	}
	var d time.Duration
	switch per = strings.TrimSpace(per); per {
	case "s":
		d = time.Second
	case "m":
		d = time.Minute
	case "h":
		d = time.Hour
	default:
		d, err = time.ParseDuration(per)
		if err != nil {
			return Rate{}, errors.New("the period after / must be s, m, h or a duration like 2s")
		}
		if d <= 0 {
			return Rate{}, errors.New("the period must be positive")
		}
	}
	r := Rate{N: n, Per: d}
	if r.PerSecond() > MaxRatePerSecond {
		// Graph allows a Page far less (its Send API about 300 calls a
		// second); past a million a second the limiter's interval would
		// round to 0 µs, which it reads as no limit at all.
		return Rate{}, fmt.Errorf("more than %d a second", MaxRatePerSecond)
	}
	return r, nil
}

// MaxRatePerSecond is the highest rate a Page may be given.
const MaxRatePerSecond = 100000

// MaxRatePeriod is the longest interval a Page's rate may give between two
// sends (its lowest rate, 1/24h), and MaxBurst its largest burst: beyond
// them the limiter's intervals overflow.
const (
	MaxRatePeriod = 24 * time.Hour
	MaxBurst      = 100000
)

// String writes the rate the way ParseRate reads it, like "10/s".
func (r Rate) String() string {
	n := strconv.Itoa(r.N)
	switch r.Per {
	case time.Second:
		return n + "/s"
	case time.Minute:
		return n + "/m"
	case time.Hour:
		return n + "/h"
	}
	return n + "/" + r.Per.String()
}

// UnmarshalYAML reads a rate with ParseRate.
func (r *Rate) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a rate like 10/s", n.Line)
	}
	v, err := ParseRate(n.Value)
	if err != nil {
		// Not quoted: a token pasted into the wrong key would be.
		return fmt.Errorf("line %d: not a rate: %w", n.Line, err)
	}
	*r = v
	return nil
}

// MarshalYAML writes the rate as String does.
func (r Rate) MarshalYAML() (any, error) { return r.String(), nil }
