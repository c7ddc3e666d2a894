package htmlcheck

import (
	"html"
	"testing"
)

var opts = Options{Nonce: "n0nce", ScriptPrefix: "/static/"}

func TestXSSCheckerFindsWhatRuns(t *testing.T) {
	cases := []struct{ name, markup string }{
		{"script without nonce", `<script src="/static/app.js"></script>`},
		{"script with another nonce", `<script nonce="x" src="/static/app.js"></script>`},
		{"inline script", `<script nonce="n0nce" src="/static/app.js">alert(1)</script>`},
		{"script from elsewhere", `<script nonce="n0nce" src="https://evil.example/x.js"></script>`},
		{"event handler", `<img src="/x.png" onerror="alert(1)">`},
		{"event handler in upper case", `<p ONCLICK=alert(1)>x</p>`},
		{"javascript href", `<a href="javascript:alert(1)">x</a>`},
		{"javascript href with entities", `<a href="&#106;avascript&#58;alert(1)">x</a>`},
		{"javascript href with a tab", "<a href=\"java\tscript:alert(1)\">x</a>"},
		{"javascript href with leading space", `<a href="  javascript:alert(1)">x</a>`},
		{"data src", `<img src="data:image/svg+xml,<svg onload=alert(1)>">`},
		{"vbscript action", `<form action="vbscript:x"></form>`},
		{"svg xlink", `<svg><a xlink:href="javascript:alert(1)">x</a></svg>`},
		{"iframe", `<iframe src="/x"></iframe>`},
		{"base", `<base href="/evil/">`},
		{"style element", `<style>p{}</style>`},
		{"style url", `<p style="background:url(/x)">x</p>`},
		{"meta refresh", `<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`},
		{"htmx handler", `<div hx-on:click="alert(1)">x</div>`},
		{"htmx handler as data", `<div data-hx-on-click="alert(1)">x</div>`},
		{"htmx js vals", `<div hx-vals='js:{a: alert(1)}'>x</div>`},
		{"htmx get to javascript", `<div hx-get="javascript:alert(1)">x</div>`},
		{"srcset", `<img src="/a.png" srcset="/a.png 1x, javascript:alert(1) 2x">`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Check(tc.markup, opts); len(got) == 0 {
				t.Errorf("Check(%s) found nothing", tc.markup)
			}
		})
	}
}

func TestXSSCheckerPassesOurMarkup(t *testing.T) {
	cases := []struct{ name, markup string }{
		{"our scripts", `<!DOCTYPE html><html><head><script src="/static/app.js?v=1" nonce="n0nce" defer></script>` +
			`<link rel="stylesheet" href="/static/app.css"><link rel="icon" href="/static/icon.svg"></head><body></body></html>`},
		{"links", `<a href="/people/ana">a</a> <a href="https://go.dev">g</a> <a href="mailto:a@b.c">m</a> <a href="#x">f</a> <a href="?q=a:b">q</a>`},
		{"templ's refusal", `<a href="about:invalid#TemplFailedSanitizationURL">x</a>`},
		{"escaped hostile text", "<p>" + html.EscapeString(`<script>alert(1)</script> "><img src=x onerror=alert(1)>`) + "</p>"},
		{"escaped hostile attribute", `<input value="` + html.EscapeString(`" onfocus="alert(1)`) + `">`},
		{"htmx as we use it", `<div hx-ext="sse" sse-connect="/live" sse-swap="share" hx-swap="afterbegin"></div>`},
		{"svg drawing", `<svg viewBox="0 0 10 10"><circle cx="5" cy="5" r="5" fill="#123456"></circle></svg>`},
		{"textarea with escaped end tag", "<textarea>" + html.EscapeString("</textarea><script>alert(1)</script>") + "</textarea>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Check(tc.markup, opts); len(got) != 0 {
				t.Errorf("Check(%s) = %v, want nothing", tc.markup, got)
			}
		})
	}
	t.Run("no script allowed without a nonce", func(t *testing.T) {
		if got := Check(`<script src="/static/app.js" nonce=""></script>`, Options{}); len(got) == 0 {
			t.Error("a script passed where no nonce was given")
		}
	})
}

func TestXSSCheckerCountsTags(t *testing.T) {
	got := Tags(`<p>a<br><a href="/">x</a><br/></p><p>` + html.EscapeString("<b>") + `</p>`)
	want := map[string]int{"p": 2, "br": 2, "a": 1}
	if len(got) != len(want) {
		t.Fatalf("Tags = %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("Tags[%s] = %d, want %d", k, got[k], n)
		}
	}
}

func TestXSSCheckerSafeURL(t *testing.T) {
	for u, want := range map[string]bool{
		"/people/ana": true, "people/ana": true, "?q=1": true, "#top": true, "https://x.org": true, "HTTP://x.org": true,
		"mailto:a@b.c": true, "//x.org/a": true, "/a:b": true, SanitizedURL: true,
		"javascript:alert(1)": false, " javascript:x": false, "\x01javascript:x": false, "jav\nascript:x": false,
		"JAVASCRIPT:x": false, "data:text/html,x": false, "vbscript:x": false, "tel:1": false, "about:blank": false,
	} {
		if got := SafeURL(u); got != want {
			t.Errorf("SafeURL(%q) = %v, want %v", u, got, want)
		}
	}
}
