package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
)

// TestLoadUnreadableNamesFile_audit13: a file Load cannot read is named as
// every other problem with the file ("config FILE: "), once, and its error
// is still the os one (fs.ErrNotExist, a directory's EISDIR): the commands
// pick their exit and hint by it. Before, it read "config: open FILE: ...".
func TestLoadUnreadableNamesFile_audit13(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	_, err := Load(missing)
	if err == nil || err.Error() != "config "+missing+": no such file or directory" || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v", err)
	}
	if _, err := Load(dir); err == nil || err.Error() != "config "+dir+": is a directory" {
		t.Errorf("Load of a directory = %v", err)
	}
}
