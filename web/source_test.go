package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// escapeBypasses are the ways to put text into a page without templ escaping
// or sanitising it. templ.URL is not one: it sanitises (anything but http,
// https, mailto, tel, ftp or a relative URL becomes about:invalid), and the
// XSS corpus test shows what comes out; converting with templ.SafeURL(…)
// skips that check, which is why it is listed.
var escapeBypasses = regexp.MustCompile(`templ\.Raw\b|templ\.SafeURL\(|templ\.SafeCSS\b|templ\.SafeCSSProperty\b|` +
	`templ\.SafeScript\w*\b|templ\.JSUnsafeFuncCall\b|templ\.JSONScript\b|templ\.FromGoHTML\b|templ\.ComponentScript\b|` +
	`\btemplate\.(HTML|HTMLAttr|JS|JSStr|URL|CSS|Srcset)\(`)

// allowedBypasses lists every place a bypass may appear, how many times, and
// why it is safe there. A new use (or one more in a listed file) fails the
// test until someone adds it here with a reason.
var allowedBypasses = []struct {
	file   string
	count  int
	reason string
}{
	{"web/components/richtext.templ", 1, "linkURL: templ.SafeURL only after sharetext.ValidLink re-checks an http(s) scheme and a host, next to the conversion"},
	{"web/components/richtext_templ.go", 1, "generated from richtext.templ (linkURL)"},
	{"web/components/cluster.templ", 1, `"http://" + the peer's host:port from the cluster heartbeat (not user input): the scheme is fixed`},
	{"web/components/cluster_templ.go", 1, "generated from cluster.templ"},
	{"web/components/connections_view.go", 1, "connActionURL: a formatted int64 id and one of our constant action names"},
}

// domSinks are JavaScript calls that turn a string into markup or code.
var domSinks = regexp.MustCompile(`\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function\(|` +
	`setTimeout\(\s*["'` + "`" + `]|setInterval\(\s*["'` + "`" + `]|\.srcdoc\b|createContextualFragment|DOMParser`)

// allowedSinks would list our own scripts' (web/static, not vendor) uses of
// the sinks above; there are none: they set textContent and attributes.
var allowedSinks = []struct {
	file   string
	count  int
	reason string
}{}

// moduleRoot is the repository root, one up from this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod in %s: %v", root, err)
	}
	return root
}

// countMatches walks the files under root with one of exts (skipping hidden
// directories, testdata, vendor and tests) and counts re's matches per file.
func countMatches(t *testing.T, root string, re *regexp.Regexp, exts []string, skip func(rel string) bool) map[string]int {
	t.Helper()
	found := map[string]int{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if !slices.Contains(exts, filepath.Ext(name)) || strings.HasSuffix(name, "_test.go") || (skip != nil && skip(rel)) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := len(re.FindAllIndex(b, -1)); n > 0 {
			found[rel] = n
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestSourceEscapeBypassesAllowListed fails when templ.Raw, templ.SafeURL(…)
// or another escaping bypass appears in Go or templ source (generated
// *_templ.go included: they are what runs) outside allowedBypasses.
func TestSourceEscapeBypassesAllowListed(t *testing.T) {
	found := countMatches(t, moduleRoot(t), escapeBypasses, []string{".go", ".templ"}, nil)
	allowed := map[string]int{}
	for _, a := range allowedBypasses {
		if a.reason == "" {
			t.Errorf("%s: an allowed bypass needs a reason", a.file)
		}
		allowed[a.file] = a.count
	}
	for file, n := range found {
		if n > allowed[file] {
			t.Errorf("%s: %d escaping bypass(es) (templ.Raw, templ.SafeURL(…), …), %d allowed: escape the text, "+
				"use templ.URL, or add the place to allowedBypasses in web/source_test.go with the reason it is safe", file, n, allowed[file])
		}
	}
	for file, n := range allowed {
		if found[file] < n {
			t.Errorf("%s: allowed %d bypass(es) but found %d: shrink allowedBypasses", file, n, found[file])
		}
	}
}

// TestSourceScriptsHaveNoMarkupSinks fails when our own JavaScript (not the
// vendored htmx) turns strings into markup or code: pages insert user text
// only through the server's escaped HTML.
func TestSourceScriptsHaveNoMarkupSinks(t *testing.T) {
	root := moduleRoot(t)
	found := countMatches(t, filepath.Join(root, "web", "static"), domSinks, []string{".js", ".mjs"}, nil)
	allowed := map[string]int{}
	for _, a := range allowedSinks {
		allowed[a.file] = a.count
	}
	if len(found) == 0 {
		// Make sure the walk saw our scripts at all.
		if js, _ := filepath.Glob(filepath.Join(root, "web", "static", "*.js")); len(js) == 0 {
			t.Fatal("no scripts under web/static: the check looked in the wrong place")
		}
	}
	for file, n := range found {
		if n > allowed[file] {
			t.Errorf("web/static/%s: %d markup or code sink(s) (innerHTML, eval, …): set textContent or attributes instead", file, n)
		}
	}
}

// TestSourceBypassPatternMatches keeps the patterns honest.
func TestSourceBypassPatternMatches(t *testing.T) {
	for _, s := range []string{"@templ.Raw(x)", "templ.SafeURL(u)", "template.HTML(s)", "templ.JSONScript(id, v)"} {
		if !escapeBypasses.MatchString(s) {
			t.Errorf("escapeBypasses misses %q", s)
		}
	}
	for _, s := range []string{"func f() templ.SafeURL {", "var x templ.SafeURL", "templ.URL(u)", "templ.EscapeString(s)"} {
		if escapeBypasses.MatchString(s) {
			t.Errorf("escapeBypasses matches the harmless %q", s)
		}
	}
	for _, s := range []string{"el.innerHTML = x", "document.write(x)", "eval(s)", "setTimeout('x()', 1)"} {
		if !domSinks.MatchString(s) {
			t.Errorf("domSinks misses %q", s)
		}
	}
	if domSinks.MatchString(`name.textContent = x; el.setAttribute("href", u)`) {
		t.Error("domSinks matches textContent/setAttribute")
	}
}
