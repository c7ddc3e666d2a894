package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// chunked hides a reader's length, so the client sends it chunked.
type chunked struct{ io.Reader }

// TestLimitBodies (checkInput): every body over MaxRequestBody is a 413 with a message, in
// JSON under /api/ and as a page elsewhere, whether its length is announced or
// not; the import upload is left to its own, larger limit.
func TestLimitBodies(t *testing.T) {
	ts := bareServer(t)
	big := strings.Repeat("a", MaxRequestBody+1)
	send := func(t *testing.T, method, path, contentType string, body io.Reader) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	apiTooLarge := func(t *testing.T, resp *http.Response, body string) {
		t.Helper()
		var e apiError
		if resp.StatusCode != http.StatusRequestEntityTooLarge || json.Unmarshal([]byte(body), &e) != nil ||
			e.Error.Code != "too_large" || !strings.Contains(e.Error.Message, "1 MiB") {
			t.Errorf("status %d body %.200s, want 413 too_large naming 1 MiB", resp.StatusCode, body)
		}
	}
	t.Run("JSON with a length", func(t *testing.T) {
		resp, body := send(t, http.MethodPost, "/api/v1/shares", "application/json", strings.NewReader(`{"body":"`+big+`"}`))
		apiTooLarge(t, resp, body)
	})
	t.Run("JSON chunked", func(t *testing.T) {
		resp, body := send(t, http.MethodPatch, "/api/v1/me", "application/json", chunked{strings.NewReader(`{"bio":"` + big + `"}`)})
		apiTooLarge(t, resp, body)
	})
	t.Run("form with a length", func(t *testing.T) {
		resp, body := send(t, http.MethodPost, "/shares", "application/x-www-form-urlencoded", strings.NewReader("body="+big))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 1 MiB") {
			t.Errorf("status %d, want 413 and a page saying so: %.300s", resp.StatusCode, body)
		}
		checkPage(t, "413 page", resp, body)
	})
	t.Run("multipart form chunked", func(t *testing.T) {
		resp, body := send(t, http.MethodPost, "/threads/new", "multipart/form-data; boundary=x",
			chunked{strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n" + big + "\r\n--x--\r\n")})
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "larger than 1 MiB") {
			t.Errorf("status %d, want 413: %.300s", resp.StatusCode, body)
		}
	})
	t.Run("a body at the limit passes on", func(t *testing.T) {
		// No route takes it unsigned: the handler's own answer (not 413) shows it got through.
		resp, body := send(t, http.MethodPost, "/api/v1/shares", "application/json", strings.NewReader(strings.Repeat(" ", MaxRequestBody-2)+"{}"))
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			t.Errorf("a body of exactly %d bytes was refused: %s", MaxRequestBody, body)
		}
	})
	t.Run("import has its own limit", func(t *testing.T) {
		resp, _ := send(t, http.MethodPost, "/import", "multipart/form-data; boundary=x", strings.NewReader(big+"b"))
		if resp.StatusCode == http.StatusRequestEntityTooLarge {
			t.Errorf("an import of %d bytes was refused by the general limit", len(big)+1)
		}
	})
}

// TestLimitText (checkInput): text PostgreSQL cannot store (NUL, invalid
// UTF-8) anywhere in the URL or a body is refused before any handler: a 404
// for a path, a 422 naming the parameter or field.
func TestLimitText(t *testing.T) {
	ts := bareServer(t)
	do := func(t *testing.T, method, path, contentType, body string) (int, string, string) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e apiError
		_ = json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error.Field, string(b)
	}
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		field                                 string
	}{
		{"NUL in the path", "GET", "/api/v1/communities/a%00b", "", "", http.StatusNotFound, ""},
		{"invalid UTF-8 in the path", "GET", "/people/%ff", "", "", http.StatusNotFound, ""},
		{"NUL in a query parameter", "GET", "/api/v1/feed?tag=a%00", "", "", http.StatusUnprocessableEntity, "tag"},
		{"invalid UTF-8 in a query parameter", "GET", "/api/v1/offers?q=%c3", "", "", http.StatusUnprocessableEntity, "q"},
		{"a bad parameter name is not echoed", "GET", "/api/v1/feed?%ff=%ff", "", "", http.StatusUnprocessableEntity, "parameter"},
		{"NUL in a JSON field", "POST", "/api/v1/shares", "application/json", `{"body":"a\u0000b","audience":"everyone"}`, http.StatusUnprocessableEntity, "body"},
		{"NUL in a nested JSON field", "PATCH", "/api/v1/me", "application/json", `{"offers":[{"body":"x","tags":["a\u0000"]}]}`, http.StatusUnprocessableEntity, "offers"},
		{"NUL in a form field", "POST", "/api/v1/x", "application/x-www-form-urlencoded", "title=ok&body=a%00b", http.StatusUnprocessableEntity, "body"},
		{"invalid UTF-8 in a form field", "POST", "/api/v1/x", "application/x-www-form-urlencoded", "summary=%ff", http.StatusUnprocessableEntity, "summary"},
		{"NUL in a multipart field", "POST", "/api/v1/x", "multipart/form-data; boundary=b",
			"--b\r\nContent-Disposition: form-data; name=\"reason\"\r\n\r\na\x00b\r\n--b--\r\n", http.StatusUnprocessableEntity, "reason"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, field, body := do(t, tc.method, tc.path, tc.contentType, tc.body)
			if status != tc.status || field != tc.field {
				t.Errorf("status %d field %q, want %d %q: %.300s", status, field, tc.status, tc.field, body)
			}
		})
	}
	t.Run("clean text passes on", func(t *testing.T) {
		// Unsigned, so the handler's 401 shows the request got through.
		if status, _, body := do(t, "POST", "/api/v1/shares", "application/json", `{"body":"caf\u00e9 \ud83d\ude00 a\tb","audience":"everyone"}`); status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401 from the handler: %s", status, body)
		}
	})
}

// BenchmarkCheckInput is what checkInput adds to a request before its
// handler: reading the body and looking through its fields.
func BenchmarkCheckInput(b *testing.B) {
	s := New(Deps{})
	h := s.checkInput(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	for _, bc := range []struct{ name, contentType, body string }{
		{"share JSON 200 B", "application/json", `{"body":"` + strings.Repeat("a", 180) + `","audience":"everyone"}`},
		{"share JSON 10k chars", "application/json", `{"body":"` + strings.Repeat("é", 10_000) + `","audience":"everyone"}`},
		{"form 200 B", "application/x-www-form-urlencoded", "body=" + strings.Repeat("a", 190) + "&audience=everyone"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/api/v1/shares?x=1", strings.NewReader(bc.body))
				r.Header.Set("Content-Type", bc.contentType)
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
		})
	}
}
