package config

import "testing"

// A proxy or gateway may have a version-like segment of its own before the
// part it forwards to Graph: only a base_url that ends with a Graph version
// makes the client call /vX.Y/vX.Y/...
func TestBaseURLProxyVersionSegmentAccepted(t *testing.T) {
	for _, base := range []string{
		"https://gw.example.com/v1.0/facebook",
		"https://gw.example.com/api/v2.1/graph/",
	} {
		y := minimal + "graph: {base_url: \"" + base + "\"}\n"
		if _, err := Parse([]byte(y), func(string) (string, bool) { return "", false }); err != nil {
			t.Errorf("base_url %s refused: %v", base, err)
		}
	}
}
