package config

import "testing"

// TestIDHoldsSecret_audit13: an id is checked for the secrets that hold a
// character Graph's ids do not (a token, the app secret), not for those of
// digits and underscores only, which a real id can hold by chance.
func TestIDHoldsSecret_audit13(t *testing.T) {
	secrets := []string{"00000000", "EAAGsecretTOKEN123", "12_34_56_78"}
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"122100000000000002_1000000000000008", false},
		{"1_12_34_56_78_9", false},
		{"1_EAAGsecretTOKEN123", true},
		{"comment:EAAGsecretTOKEN123", true},
		{"t_1234", false},
	} {
		if got := IDHoldsSecret(tc.id, secrets); got != tc.want {
			t.Errorf("IDHoldsSecret(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	if !HoldsSecret("the code is 00000000", secrets) {
		t.Error("HoldsSecret no longer finds a numeric secret in a text")
	}
	c := &Config{Redis: Redis{URL: "redis://:00000000@127.0.0.1:6379/0"}, Pages: []Page{{ID: "1", AccessToken: "EAAGsecretTOKEN123"}}}
	if key, ok := c.IDSecret("1_100000000"); ok {
		t.Errorf("IDSecret of an id holding the numeric Redis password: %s, want none", key)
	}
	if key, ok := c.IDSecret("1_EAAGsecretTOKEN123"); !ok || key == "" {
		t.Errorf("IDSecret of an id holding the Page's token: %q %v, want its key", key, ok)
	}
	if _, ok := c.TextSecret("1_100000000"); !ok {
		t.Error("TextSecret no longer finds the numeric Redis password")
	}
}
