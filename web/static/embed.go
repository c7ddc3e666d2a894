// Package static embeds the CSS, vendored htmx and icons served under /static/.
//
// Each file's URL carries a short content hash (Path), so browsers may cache it
// for a year and still see a new version the moment it changes.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed *.css *.svg *.js vendor/*.js
var files embed.FS

// FS is the embedded asset tree.
var FS fs.FS = files

var hashes = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		m[p] = hex.EncodeToString(sum[:])[:12]
		return nil
	})
	return m
}()

// Path is the cache-busting URL of an embedded file, e.g. "/static/app.css?v=1a2b3c4d5e6f".
// It panics on a name that is not embedded: a typo in a template should fail every test.
func Path(name string) string {
	h, ok := hashes[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return "/static/" + name + "?v=" + h
}

// Handler serves the files under /static/. A request carrying the current hash is
// cached for a year; any other is revalidated.
func Handler() http.Handler {
	fsrv := http.StripPrefix("/static/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if h, ok := hashes[name]; ok && r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		if strings.HasSuffix(name, "/") || name == "" {
			http.NotFound(w, r) // no directory listings
			return
		}
		if strings.HasSuffix(name, ".svg") {
			// mime knows SVG as image/svg+xml without a charset; it is XML
			// text, and every text answer names its encoding (ASVS 4.1.1).
			w.Header().Set("Content-Type", "image/svg+xml; charset=utf-8")
		}
		fsrv.ServeHTTP(w, r)
	})
}
