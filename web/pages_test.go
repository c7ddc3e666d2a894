package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/a-h/templ"
)

// TestRenderWholePages: a page leaves in one piece with its length announced
// (not chunked), and one that fails half way is an error page, none of the
// half it had rendered.
func TestRenderWholePages(t *testing.T) {
	s := New(Deps{Instance: "render-test"})
	whole := strings.Repeat("<p>a share</p>", 5000) // 70 KB: many of net/http's 2–4 KB chunks
	failing := templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		io.WriteString(w, "<p>half a page</p>")
		return errors.New("broken component")
	})
	cases := []struct {
		name   string
		c      templ.Component
		asked  int // the status the handler asked for
		status int
		want   string
		absent string
		plain  bool // text/plain from net/http
	}{
		{"whole", templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, whole)
			return err
		}), http.StatusOK, http.StatusOK, whole, "", false},
		{"failing half way", failing, http.StatusOK, http.StatusInternalServerError, "This page could not be shown", "half a page", false},
		// An error page that fails: plain text, never an empty 200.
		{"error page failing", failing, http.StatusServiceUnavailable, http.StatusInternalServerError, "could not be shown", "half a page", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.render(rec, httptest.NewRequest(http.MethodGet, "/", nil), tc.asked, tc.c)
			body := rec.Body.String()
			if rec.Code != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("status %d, want %d with %q; body %.200s", rec.Code, tc.status, tc.want, body)
			}
			if tc.absent != "" && strings.Contains(body, tc.absent) {
				t.Errorf("the error page carries the half-rendered page: %.200s", body)
			}
			if tc.plain {
				if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
					t.Errorf("Content-Type %q, want text/plain", rec.Header().Get("Content-Type"))
				}
				return
			}
			if got := rec.Header().Get("Content-Length"); got != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q, body %d bytes", got, len(body))
			}
			if rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}
