package config

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Rate
		wantErr string
		// wantNoHint: the error says nothing of fractions.
		wantNoHint bool
		str        string // String(); "" means in
	}{
		{name: "per second", in: "10/s", want: Rate{10, time.Second}},
		{name: "per minute", in: "600/m", want: Rate{600, time.Minute}},
		{name: "per hour", in: "36000/h", want: Rate{36000, time.Hour}},
		{name: "duration period", in: "10/1s", want: Rate{10, time.Second}, str: "10/s"},
		{name: "odd period", in: "5/500ms", want: Rate{5, 500 * time.Millisecond}},
		{name: "spaces", in: " 3 / m ", want: Rate{3, time.Minute}, str: "3/m"},
		{name: "zero", in: "0/s", wantErr: "positive"},
		{name: "negative", in: "-1/s", wantErr: "positive"},
		{name: "zero period", in: "1/0s", wantErr: "positive"},
		{name: "negative period", in: "1/-1s", wantErr: "positive"},
		{name: "no slash", in: "10", wantErr: "want N/s"},
		{name: "not a number", in: "ten/s", wantErr: "not a whole number"},
		{name: "fraction", in: "0.5/s", wantErr: "not a whole number (for a fraction, lengthen the period: 1/2s or 30/m"},
		{name: "a fraction written as the hint says", in: "1/2s", want: Rate{1, 2 * time.Second}},
		{name: "no count", in: "/s", wantErr: "the count before / is not a whole number", wantNoHint: true},
		{name: "too large a count", in: "99999999999999999999/s", wantErr: "the count before / is not a whole number", wantNoHint: true},
		{name: "bad unit", in: "10/day", wantErr: "s, m, h"},
		{name: "empty", in: "", wantErr: "want N/s"},
		{name: "the highest", in: "100000/s", want: Rate{100000, time.Second}},
		// Past a million a second the limiter's interval rounds to 0 µs,
		// which it reads as no limit.
		{name: "too high", in: "100001/s", wantErr: "more than 100000 a second"},
		{name: "too high by its period", in: "2000/1ms", wantErr: "more than 100000 a second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRate(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseRate(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
				}
				if tt.wantNoHint && err != nil && strings.Contains(err.Error(), "fraction") {
					t.Errorf("ParseRate(%q): %v; want no word of fractions", tt.in, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			str := tt.str
			if str == "" {
				str = tt.in
			}
			if got.String() != str {
				t.Errorf("String() = %q, want %q", got.String(), str)
			}
			if back, err := ParseRate(got.String()); err != nil || back != got {
				t.Errorf("ParseRate(String()) = %v, %v", back, err)
			}
		})
	}
}

func TestRatePerSecond(t *testing.T) {
	tests := []struct {
		name string
		r    Rate
		want float64
	}{
		{name: "per second", r: Rate{10, time.Second}, want: 10},
		{name: "per minute", r: Rate{600, time.Minute}, want: 10},
		{name: "zero", r: Rate{}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.PerSecond(); got != tt.want {
				t.Errorf("PerSecond() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRateYAML(t *testing.T) {
	var v struct {
		R Rate `yaml:"r"`
	}
	if err := yaml.Unmarshal([]byte("r: 600/m"), &v); err != nil || v.R != (Rate{600, time.Minute}) {
		t.Errorf("Unmarshal = %v, %v", v.R, err)
	}
	if err := yaml.Unmarshal([]byte("r: 0/m"), &v); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("Unmarshal 0/m: %v", err)
	}
	// A token pasted into the wrong key is not repeated.
	if err := yaml.Unmarshal([]byte("r: "+literalSecret), &v); err == nil || !strings.Contains(err.Error(), "line 1: not a rate: want N/s") {
		t.Errorf("Unmarshal of a token: %v", err)
	} else {
		for _, piece := range secretPieces() {
			if strings.Contains(err.Error(), piece) {
				t.Errorf("error quotes %q: %v", piece, err)
			}
		}
	}
	if err := yaml.Unmarshal([]byte("r: [1]"), &v); err == nil {
		t.Errorf("Unmarshal of a list succeeded")
	}
	out, err := yaml.Marshal(struct {
		R Rate `yaml:"r"`
	}{Rate{36000, time.Hour}})
	if err != nil || string(out) != "r: 36000/h\n" {
		t.Errorf("Marshal = %q, %v", out, err)
	}
}
