package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestSandboxAppNotLive_audit16: `pagereply sandbox --app-not-live
// --app-testers ID` refuses, over HTTP, a private reply to a person who is not
// ID with Meta's 400, code 10, subcode 2018028, and lets one to ID through.
func TestSandboxAppNotLive_audit16(t *testing.T) {
	// The tester: a person of the seed's first Page, as the sandbox seeds it.
	ctx0, cancel0 := context.WithCancel(context.Background())
	addr, pageID, token := startSandbox_audit16(t, ctx0)
	comments := sandboxComments_audit16(t, addr, pageID, token)
	cancel0()
	var tester string
	for _, c := range comments {
		if c.From.ID != "" && c.From.ID != pageID {
			tester = c.From.ID
			break
		}
	}
	if tester == "" {
		t.Fatal("no visitor's comment seeded")
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, pageID, token = startSandbox_audit16(t, ctx, "--app-not-live", "--app-testers", "1,"+tester)
	refused, sent := 0, 0
	for _, c := range sandboxComments_audit16(t, addr, pageID, token) {
		if c.From.ID == "" || c.From.ID == pageID {
			continue
		}
		form := url.Values{"recipient": {`{"comment_id":"` + c.ID + `"}`}, "message": {`{"text":"hi"}`}}
		req, _ := http.NewRequest(http.MethodPost, addr+"/v25.0/"+pageID+"/messages", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error struct {
				Message string `json:"message"`
				Type    string `json:"type"`
				Code    int    `json:"code"`
				Subcode int    `json:"error_subcode"`
			} `json:"error"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		switch e := body.Error; {
		case e.Code == 10902 || e.Code == 10903:
		case c.From.ID == tester && resp.StatusCode == http.StatusOK:
			sent++
		case c.From.ID != tester && resp.StatusCode == http.StatusBadRequest && e.Code == 10 && e.Subcode == 2018028 && e.Type == "OAuthException" &&
			e.Message == "(#10) Cannot message users who are not admins, developers or testers of the app until pages_messaging permission is reviewed and the app is live.":
			refused++
		default:
			t.Errorf("reply to %s's comment %s: %d %+v", c.From.ID, c.ID, resp.StatusCode, e)
		}
	}
	if refused == 0 || sent == 0 {
		t.Errorf("%d refused, %d sent to the tester: want some of each", refused, sent)
	}
}

// TestSandboxAppTestersNeedsNotLive_audit16: --app-testers without
// --app-not-live, or naming something that is no person id, is a usage error.
func TestSandboxAppTestersNeedsNotLive_audit16(t *testing.T) {
	for _, args := range [][]string{
		{"--app-testers", "123"},
		{"--app-not-live", "--app-testers", "123,abc"},
		{"--app-not-live", "--app-testers", "123,"},
	} {
		_, stderr, done := runInBackground(context.Background(), runSandbox, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
		if code := <-done; code != exitUsage || !strings.Contains(stderr.String(), "--app-testers") {
			t.Errorf("%v: exit %d, stderr %q; want %d naming --app-testers", args, code, stderr.String(), exitUsage)
		}
	}
}

type sandboxComment_audit16 struct {
	ID   string `json:"id"`
	From struct {
		ID string `json:"id"`
	} `json:"from"`
}

// startSandbox_audit16 runs `pagereply sandbox` (one Page, seed 5) until ctx
// ends, and returns its address and its Page.
func startSandbox_audit16(t *testing.T, ctx context.Context, args ...string) (addr, pageID, token string) {
	t.Helper()
	stdout, stderr, done := runInBackground(ctx, runSandbox, append([]string{"--addr", "127.0.0.1:0", "--pages", "1", "--posts", "3", "--comments", "10", "--seed", "5"}, args...)...)
	t.Cleanup(func() { <-done })
	addr = waitFor(t, stderr, regexp.MustCompile(`sandbox listening on (http://127\.0\.0\.1:[0-9]+)\n`))[1]
	m := regexp.MustCompile(`^page ([0-9]+) token (\S+)\n$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("stdout %q", stdout.String())
	}
	return addr, m[1], m[2]
}

func sandboxComments_audit16(t *testing.T, addr, pageID, token string) []sandboxComment_audit16 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, addr+"/v25.0/"+pageID+"/feed?fields=id,comments.limit(100){id,from}", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var feed struct {
		Data []struct {
			Comments struct {
				Data []sandboxComment_audit16 `json:"data"`
			} `json:"comments"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&feed); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("feed: %d %v", resp.StatusCode, err)
	}
	var out []sandboxComment_audit16
	for _, p := range feed.Data {
		out = append(out, p.Comments.Data...)
	}
	return out
}
