// Package htmlcheck finds markup that a browser could run: script elements
// without the page's CSP nonce, event-handler attributes, javascript:/data:
// and other non-web URLs, htmx attributes that evaluate code, and elements
// that only an injection would produce (iframe, object, base, style …).
//
// It exists for tests: the XSS corpus tests render every template that shows
// user text with hostile strings (Hostile) and assert that Check finds
// nothing. It reads markup with golang.org/x/net/html's tokenizer, which
// splits tags and attributes the way a browser's tokenizer does, in any
// context (a table row rendered on its own included).
package htmlcheck

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html"
)

// Problem is one thing in the markup that could execute.
type Problem struct {
	Tag    string // the element it was found on
	Detail string
}

func (p Problem) String() string { return "<" + p.Tag + ">: " + p.Detail }

// Options say what the page may legitimately contain.
type Options struct {
	// Nonce is the CSP nonce the page was rendered with: every <script> must
	// carry it and load from ScriptPrefix. Empty: no script is allowed.
	Nonce string
	// ScriptPrefix is where the page's own scripts load from ("/static/").
	ScriptPrefix string
}

// SanitizedURL is what templ writes for a URL it refused: inert, so allowed.
const SanitizedURL = "about:invalid#TemplFailedSanitizationURL"

// forbidden are elements no template of ours renders and an injection would:
// each can run script, load a document, restyle or re-base the page.
var forbidden = map[string]bool{
	"iframe": true, "frame": true, "frameset": true, "object": true, "embed": true, "applet": true,
	"base": true, "style": true, "portal": true, "math": true, "foreignobject": true,
	"animate": true, "set": true, "animatetransform": true, "animatemotion": true, "handler": true, "listener": true,
	"import": true, "noscript": true, "xmp": true, "plaintext": true, "isindex": true,
}

// urlAttrs are attributes a browser (or htmx) follows as a URL.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "xlink:href": true, "poster": true,
	"background": true, "cite": true, "data": true, "codebase": true, "ping": true, "manifest": true,
	"icon": true, "lowsrc": true, "dynsrc": true, "longdesc": true, "usemap": true, "profile": true,
	"hx-get": true, "hx-post": true, "hx-put": true, "hx-patch": true, "hx-delete": true,
	"hx-push-url": true, "hx-replace-url": true, "sse-connect": true, "ws-connect": true,
	"data-hx-get": true, "data-hx-post": true, "data-hx-put": true, "data-hx-patch": true, "data-hx-delete": true,
}

// Check reports everything in markup that could run script. A full document
// and a fragment are both fine.
func Check(markup string, o Options) []Problem {
	var out []Problem
	add := func(tag, format string, args ...any) {
		out = append(out, Problem{Tag: tag, Detail: fmt.Sprintf(format, args...)})
	}
	z := html.NewTokenizer(strings.NewReader(markup))
	inScript := false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				add("", "tokenizer: %v", z.Err())
			}
			return out
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
		case html.TextToken:
			if inScript && strings.TrimSpace(tok.Data) != "" {
				add("script", "inline script %q", clip(tok.Data))
			}
			continue
		case html.EndTagToken:
			if tok.Data == "script" {
				inScript = false
			}
			continue
		default:
			continue
		}
		tag := tok.Data
		if forbidden[tag] {
			add(tag, "element <%s> is never ours", tag)
		}
		if tag == "script" {
			inScript = tt == html.StartTagToken
			checkScript(tok, o, add)
		}
		if tag == "meta" && strings.EqualFold(attr(tok, "http-equiv"), "refresh") {
			add(tag, "meta refresh %q", attr(tok, "content"))
		}
		if tag == "link" {
			if rel := strings.ToLower(attr(tok, "rel")); rel != "icon" && rel != "stylesheet" {
				add(tag, "link rel=%q", rel)
			}
		}
		for _, a := range tok.Attr {
			checkAttr(tag, a, add)
		}
	}
}

func checkScript(tok html.Token, o Options, add func(tag, format string, args ...any)) {
	if o.Nonce == "" {
		add("script", "a script where none may be")
		return
	}
	if n := attr(tok, "nonce"); n != o.Nonce {
		add("script", "script without our nonce (nonce=%q)", n)
	}
	src := attr(tok, "src")
	if o.ScriptPrefix == "" || !strings.HasPrefix(src, o.ScriptPrefix) || strings.Contains(src, "//") {
		add("script", "script from %q, not from %q", src, o.ScriptPrefix)
	}
	if t := strings.ToLower(attr(tok, "type")); t != "" && t != "module" && t != "text/javascript" {
		add("script", "script of type %q", t)
	}
}

func checkAttr(tag string, a html.Attribute, add func(tag, format string, args ...any)) {
	key := strings.ToLower(a.Key)
	if a.Namespace != "" {
		key = strings.ToLower(a.Namespace) + ":" + key
	}
	name := strings.TrimPrefix(key, "data-")
	switch {
	case strings.HasPrefix(key, "on"):
		add(tag, "event handler %s=%q", a.Key, clip(a.Val))
	case strings.HasPrefix(name, "hx-on"):
		add(tag, "htmx event handler %s=%q", a.Key, clip(a.Val))
	case name == "hx-vars":
		add(tag, "hx-vars evaluates script: %q", clip(a.Val))
	case name == "hx-vals" || name == "hx-headers":
		if v := strings.ToLower(strings.TrimSpace(a.Val)); strings.HasPrefix(v, "js:") || strings.HasPrefix(v, "javascript:") {
			add(tag, "%s evaluates script: %q", a.Key, clip(a.Val))
		}
	case key == "style":
		v := strings.ToLower(a.Val)
		for _, bad := range []string{"url(", "expression(", "javascript:", "@import", "behavior:", "-moz-binding"} {
			if strings.Contains(v, bad) {
				add(tag, "style with %s: %q", bad, clip(a.Val))
			}
		}
	case key == "srcset" || key == "imagesrcset":
		for _, part := range strings.Split(a.Val, ",") {
			if f := strings.Fields(part); len(f) > 0 && !SafeURL(f[0]) {
				add(tag, "%s holds %q", a.Key, clip(f[0]))
			}
		}
	case urlAttrs[key]:
		if !SafeURL(a.Val) {
			add(tag, "%s=%q is not an http, https, mailto or relative URL", a.Key, clip(a.Val))
		}
	case key == "http-equiv" && strings.EqualFold(a.Val, "refresh"):
		// reported by the meta rule
	}
}

// SafeURL reports whether a browser following u stays on http(s), mailto or
// a relative URL. It reads u as browsers do: leading and trailing spaces and
// control characters are dropped and tabs and newlines removed anywhere, so
// "java\tscript:" is still javascript:. templ's refusal marker is inert.
func SafeURL(u string) bool {
	if u == SanitizedURL {
		return true
	}
	u = strings.TrimFunc(u, func(r rune) bool { return r <= ' ' })
	u = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, u)
	scheme, _, found := strings.Cut(u, ":")
	if !found || strings.ContainsAny(scheme, "/?#") {
		return true // no scheme: relative (a colon in a path, query or fragment)
	}
	switch strings.ToLower(scheme) {
	case "http", "https", "mailto":
		return true
	}
	return false
}

// Tags counts the start tags in markup, by element name: two renderings of a
// template that differ only in the text they show must count the same, or
// the text made an element.
func Tags(markup string) map[string]int {
	n := map[string]int{}
	z := html.NewTokenizer(strings.NewReader(markup))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return n
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			n[string(name)]++
		}
	}
}

func attr(tok html.Token, key string) string {
	for _, a := range tok.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
