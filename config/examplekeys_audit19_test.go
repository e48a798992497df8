package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestExampleFileHasEveryKey_audit19: README.md says every key is in
// pagereply.example.yaml, with its default and what it does. Every yaml key
// of Config, nested ones too, is written there as "key:" (the sentinel and
// cluster forms, each instead of url, in comments); TestExampleFileDefaults
// checks the values of the keys it holds, not that none is missing.
func TestExampleFileHasEveryKey_audit19(t *testing.T) {
	data, err := os.ReadFile("../pagereply.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	example := string(data)
	seen := map[reflect.Type]bool{}
	n := 0
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ == reflect.TypeOf(Rate{}) || seen[typ] {
			return
		}
		seen[typ] = true
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || key == "" || key == "-" {
				continue
			}
			n++
			p := strings.TrimPrefix(path+"."+key, ".")
			if !regexp.MustCompile(`(?m)^[ #]*(- )?` + regexp.QuoteMeta(key) + `:`).MatchString(example) {
				t.Errorf("pagereply.example.yaml has no %s: the file README.md says holds every key", p)
			}
			walk(f.Type, p)
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	if n < 30 {
		t.Fatalf("only %d keys found in Config", n)
	}
}
