package config

import (
	"errors"
	"strings"
	"testing"
)

// TestEmptyFileSaysSo_audit14: a configuration file with nothing in it (a
// `> pagereply.yaml` meant as `>>`, an `envsubst < f > f` that truncated
// it, a ConfigMap key mounted empty) was refused with "pages: at least one
// page is required" alone, which reads as a file whose pages are missing to
// someone whose file does list them. The message now says the file holds
// nothing; a file with content but no pages keeps the plain message.
func TestEmptyFileSaysSo_audit14(t *testing.T) {
	for name, yaml := range map[string]string{
		"empty":         "",
		"blank lines":   "\n\n  \n",
		"comments only": "# pagereply\n# (nothing yet)\n",
		"document mark": "---\n",
		"null":          "~\n",
	} {
		_, err := Parse([]byte(yaml), func(string) (string, bool) { return "", false })
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err %v, want one FieldError", name, err)
			continue
		}
		if fe.Path != "pages" || !strings.Contains(fe.Msg, "at least one page is required") || !strings.Contains(fe.Msg, "the file is empty") {
			t.Errorf("%s: %v, want pages: at least one page is required, saying the file is empty", name, err)
		}
	}
	_, err := Parse([]byte("log: {level: info}\n"), nil)
	if err == nil || !strings.Contains(err.Error(), "pages: at least one page is required") || strings.Contains(err.Error(), "empty") {
		t.Errorf("a file without pages: %v, want only pages: at least one page is required", err)
	}
}
