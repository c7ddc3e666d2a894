package htmlcheck

import "strings"

// Homoglyph is "@аdmin" with a Cyrillic а (U+0430): it looks like a mention
// of admin and must never link to them.
const Homoglyph = "@\u0430dmin"

// Hostile is the XSS corpus: strings written to break out of text, attributes,
// URLs, raw-text elements and the htmx attributes, plus text that is merely
// nasty (bidi overrides, null bytes, invalid UTF-8, one very long word). None
// is empty, so a template takes the same branches with any of them as with
// plain words.
var Hostile = []string{
	"<script>alert(1)</script>",
	`"><img src=x onerror=alert(1)>`,
	`'><svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	"javascript:alert(1)",
	" JaVaScRiPt:alert(1)",
	"java\tscript:alert(1)",
	"&#106;avascript&#58;alert(1)",
	"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
	"vbscript:msgbox(1)",
	`<a href="javascript:alert(1)">click</a>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	"</textarea><script>alert(1)</script>",
	"</title><script>alert(1)</script>",
	"--><script>alert(1)</script><!--",
	"<b>unclosed <i>markup <p",
	`<div hx-get="/api/v1/logout" hx-trigger="load">x</div>`,
	`" hx-on:click="alert(1)" x="`,
	`" onmouseover="alert(1)`,
	`' onfocus='alert(1)' autofocus '`,
	`<style>*{background:url(javascript:alert(1))}</style>`,
	`<math><mi xlink:href="javascript:alert(1)">x</mi></math>`,
	"&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt; &#x3C;",
	"{{.}} ${alert(1)} #{1} <%= 1 %>",
	`https://example.org/"onmouseover="alert(1)`,
	"https://example.org/?q=<script>",
	Homoglyph,
	"@admin\u0430 and @\u0430na",
	"\u202Egnp.exe\u202C \u200B\u2066rtl\u2069",
	"a\x00b<scr\x00ipt>alert(1)</script>",
	"\xff\xfe invalid utf-8 \xc3",
	strings.Repeat("W", 3000),
}
