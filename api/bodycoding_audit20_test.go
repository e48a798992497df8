package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// postRaw posts body to /v1/replies with the API token and the given
// headers; it returns the status and the decoded answer.
func (e *env) postRaw(t *testing.T, body []byte, headers map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+"/v1/replies", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// TestCompressedBodyIs415_audit20: a body sent with a Content-Encoding the
// API does not decode (gzip, as some clients and gateways send) is a 415
// that names the coding, per RFC 9110 §15.5.16, and queues nothing; before,
// it was a 400 "the body must be a JSON object", which sent the caller
// looking at a body that was one. An identity coding is no coding.
func TestCompressedBodyIs415_audit20(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	body := fmt.Sprintf(`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(body))
	_ = zw.Close()
	st, m := e.postRaw(t, gz.Bytes(), map[string]string{"Content-Type": "application/json", "Content-Encoding": "gzip"})
	if st != http.StatusUnsupportedMediaType || !strings.Contains(errMessage(m), "gzip") {
		t.Fatalf("gzip body: %d %v; want 415 naming the coding", st, m)
	}
	st, m = e.postRaw(t, []byte(body), map[string]string{"Content-Encoding": "Identity"})
	if st != http.StatusAccepted {
		t.Fatalf("identity body: %d %v; want 202 (nothing was queued by the gzip one)", st, m)
	}
}

// TestBodyWithBOM_audit20: a JSON body that starts with a UTF-8 byte order
// mark (what Windows tools write, PowerShell 5's UTF8 encoding among them)
// is read as the JSON after it (RFC 8259 §8.1 lets a parser ignore it);
// before, it was a 400 "the body must be a JSON object".
func TestBodyWithBOM_audit20(t *testing.T) {
	e := newEnv(t, nil)
	c := e.sb.AllComments(e.page.ID)[0].ID
	body := fmt.Sprintf("\ufeff"+`{"page_id":%q,"comment_id":%q,"text":"hi"}`, e.page.ID, c)
	if st, m := e.postRaw(t, []byte(body), map[string]string{"Content-Type": "application/json"}); st != http.StatusAccepted {
		t.Fatalf("body with a BOM: %d %v; want 202", st, m)
	}
	batch := "\ufeff" + fmt.Sprintf(`{"replies":[{"page_id":%q,"post_id":%q,"text":"hi"}]}`, e.page.ID, e.page.ID+"_1")
	if st, m := e.postRaw(t, []byte(batch), nil); st != http.StatusMultiStatus || !strings.Contains(fmt.Sprint(m), "202") {
		t.Fatalf("batch with a BOM: %d %v; want 207 with its item queued", st, m)
	}
}
