package api_test

import (
	"net/http"
	"testing"

	"github.com/pagereply/pagereply/api"
)

// TestMonitorRefusesCrossSiteWrites: with the monitor's write actions on, a
// request another site makes the browser send (with the operator's cached
// basic-auth credentials) cannot archive replies; the same request from the
// monitor's own page can.
func TestMonitorRefusesCrossSiteWrites(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.MonitorReadOnly = false })
	post := func(site string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", e.url+"/monitor/api/queues/replies/pending_tasks:archive_all", nil)
		req.SetBasicAuth("x", testToken)
		req.Header.Set("Sec-Fetch-Site", site)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site archive: %d, want 403", code)
	}
	if code := post("same-origin"); code == http.StatusForbidden {
		t.Errorf("same-origin archive: %d, want it let through", code)
	}
	req, _ := http.NewRequest("POST", e.url+"/logout", nil)
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site logout: %d, want 403", resp.StatusCode)
	}
}

// TestMonitorNotFramed: the monitor and the sign-in form tell browsers not
// to show them in another site's frame (clickjacking of the monitor's write
// buttons). Before, neither sent a header that says so.
func TestMonitorNotFramed(t *testing.T) {
	e := newEnv(t, func(p *api.Params) { p.MonitorReadOnly = false })
	for _, path := range []string{"/monitor/", "/login"} {
		req, _ := http.NewRequest("GET", e.url+path, nil)
		req.SetBasicAuth("x", testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", path, got)
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != "frame-ancestors 'none'" {
			t.Errorf("%s: Content-Security-Policy %q", path, got)
		}
	}
}
