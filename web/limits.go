package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxRequestBody bounds every request body except an import upload (which
// has MaxImportUpload and its own page): JSON (MaxJSONBody) and forms alike.
// The longest legitimate form is a share or reply of 10,000 characters,
// under 120 KiB even when every character is a URL-encoded emoji.
const MaxRequestBody = MaxJSONBody

// unboundedHere are the routes whose handler bounds the body itself.
var unboundedHere = map[string]bool{"/import": true}

// checkInput looks at every request's input before authentication and any
// handler, so that no route can forget it:
//
//   - The body is bounded by MaxRequestBody. A body announced larger is
//     refused at once; one without a length (chunked) is read up to the
//     limit here, so it too gets a 413 with a message rather than whatever a
//     handler makes of a cut-off read. Handlers read bodies whole anyway
//     (JSON, forms), so reading it first costs no memory they would not use.
//   - The path, every query parameter and every field of a form or JSON body
//     must be UTF-8 text without NUL. PostgreSQL refuses both, so either
//     would otherwise become a 500 wherever it reached a query; here a bad
//     path is a 404 and a bad parameter or field a 422 naming it.
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cleanText(r.URL.Path) {
			s.fail(w, r, http.StatusNotFound, "There is nothing at that address.")
			return
		}
		if field := badTextField(r.URL.Query()); field != "" {
			s.failBadText(w, r, field)
			return
		}
		if r.Body == nil || r.Body == http.NoBody || unboundedHere[r.URL.Path] {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > MaxRequestBody {
			s.bodyTooLarge(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			s.bodyTooLarge(w, r)
			return
		case err != nil:
			s.fail(w, r, http.StatusBadRequest, "The request body could not be read.")
			return
		}
		if field := badBodyField(r.Header.Get("Content-Type"), body); field != "" {
			s.failBadText(w, r, field)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// bodyTooLarge answers 413 in the API's or the site's format; the connection
// is closed after, as the rest of the body is not read.
func (s *Server) bodyTooLarge(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close")
	what := "The form"
	if strings.HasPrefix(r.URL.Path, "/api/") {
		what = "The request body"
	}
	s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than %d MiB.", what, MaxRequestBody>>20))
}

func (s *Server) failBadText(w http.ResponseWriter, r *http.Request, field string) {
	s.failField(w, r, http.StatusUnprocessableEntity, field, field+" must be UTF-8 text without NUL characters.")
}

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// badTextField names the first parameter (in name order) with a value that
// is not clean text, or "".
func badTextField(v url.Values) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, s := range v[k] {
			if !cleanText(s) {
				return fieldName(k)
			}
		}
	}
	return ""
}

// fieldName is a parameter's name as it may be shown back: a name that is
// itself bad text is shown as "parameter".
func fieldName(k string) string {
	if !cleanText(k) || len(k) > 64 {
		return "parameter"
	}
	return k
}

// badBodyField names the first field of a form or JSON body that is not clean
// text, or "". A body that does not parse is left to the handler, which
// answers it as malformed.
func badBodyField(contentType string, body []byte) string {
	mediaType, params, _ := mime.ParseMediaType(contentType)
	switch {
	case mediaType == "application/x-www-form-urlencoded":
		v, _ := url.ParseQuery(string(body))
		return badTextField(v)
	case mediaType == "multipart/form-data":
		return badMultipartField(body, params["boundary"])
	}
	// JSON replaces invalid UTF-8 with U+FFFD and refuses a raw NUL, so only
	// the escape \u0000 can smuggle one in: look further only when it is there.
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') &&
		bytes.Contains(body, []byte(`\u0000`)) {
		var v any
		if json.Unmarshal(body, &v) == nil {
			return badJSONField("", v)
		}
	}
	return ""
}

// badJSONField names the top-level field holding a string with NUL.
func badJSONField(field string, v any) string {
	switch v := v.(type) {
	case string:
		if !cleanText(v) {
			if field == "" {
				return "body"
			}
			return fieldName(field)
		}
	case []any:
		for _, e := range v {
			if f := badJSONField(field, e); f != "" {
				return f
			}
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := field
			if name == "" {
				name = k
			}
			if f := badJSONField(name, v[k]); f != "" {
				return f
			}
		}
	}
	return ""
}

// badMultipartField names the first non-file part that is not clean text.
func badMultipartField(body []byte, boundary string) string {
	if boundary == "" {
		return ""
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return ""
		}
		if p.FileName() != "" {
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return ""
		}
		if !cleanText(string(b)) {
			return fieldName(p.FormName())
		}
	}
}
