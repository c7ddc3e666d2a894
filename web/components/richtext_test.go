package components

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

type anchor struct {
	href, class, text string
	external          bool // rel="nofollow noopener noreferrer ugc" target="_blank"
}

func renderRichText(t *testing.T, body string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := RichText(body).Render(context.Background(), &buf); err != nil {
		t.Fatalf("render %q: %v", body, err)
	}
	return buf.String()
}

// eventAttr finds an on…= attribute in markup; escaped text holds no '<', so
// any match is a real attribute.
var eventAttr = regexp.MustCompile(`(?i)<[^>]*[\s/"']on[a-z]+\s*=`)

func TestRichTextIsSafe(t *testing.T) {
	const quoted = `https://x.org/a"b<c>?q='1`
	cases := []struct {
		name     string
		body     string
		anchors  []anchor
		wantText string // text content with <br> as "\n"; the body when empty
	}{
		{name: "script tag", body: "<script>alert(1)</script>"},
		{name: "attribute breakout", body: `"><img src=x onerror=alert(1)>`},
		{name: "javascript url", body: "javascript:alert(1)"},
		{name: "markdown javascript link", body: "[x](javascript:alert(1))"},
		{name: "data url", body: "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
		{name: "mention before markup", body: "@ana<b>", anchors: []anchor{{href: "/people/ana", class: "mention", text: "@ana"}}},
		{name: "tag before attribute", body: `#tag"onmouseover=x`, anchors: []anchor{{href: "/search?q=%23tag", class: "tag-link", text: "#tag"}}},
		{
			name:    "link with quotes and angle brackets",
			body:    "see " + quoted + "' now",
			anchors: []anchor{{href: quoted, text: quoted, external: true}},
		},
		{
			name:    "link trying an event handler",
			body:    `https://x.org/"onmouseover="alert(1)`,
			anchors: []anchor{{href: `https://x.org/"onmouseover="alert(1)`, text: `https://x.org/"onmouseover="alert(1)`, external: true}},
		},
		{
			name: "everything together",
			body: "Hi @Ana, see #Go and https://go.dev/doc?x=1&y=2.\nMail ana@example.com #Café",
			anchors: []anchor{
				{href: "/people/ana", class: "mention", text: "@ana"},
				{href: "/search?q=%23go", class: "tag-link", text: "#go"},
				{href: "https://go.dev/doc?x=1&y=2", text: "https://go.dev/doc?x=1&y=2", external: true},
				{href: "/search?q=%23caf%C3%A9", class: "tag-link", text: "#café"},
			},
			wantText: "Hi @ana, see #go and https://go.dev/doc?x=1&y=2.\nMail ana@example.com #café",
		},
		{name: "line breaks", body: "a\n\nb"},
		{name: "invalid utf-8", body: "a\xffb", wantText: "a\uFFFDb"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := renderRichText(t, tc.body)
			if strings.Contains(strings.ToLower(out), "<script") {
				t.Errorf("output holds a <script tag: %s", out)
			}
			if eventAttr.MatchString(out) {
				t.Errorf("output holds an on…= attribute: %s", out)
			}

			doc, err := html.ParseFragment(strings.NewReader(out), &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body})
			if err != nil {
				t.Fatalf("parse output: %v", err)
			}
			if len(doc) != 1 || doc[0].DataAtom != atom.Div || attr(doc[0], "class") != "share-body" {
				t.Fatalf("output is not one div.share-body: %s", out)
			}
			root := doc[0]

			var got []anchor
			for n := range root.Descendants() {
				if n.Type != html.ElementNode {
					continue
				}
				switch n.DataAtom {
				case atom.A:
				case atom.Br:
					continue
				default:
					t.Errorf("unexpected element <%s> in %s", n.Data, out)
					continue
				}
				for _, a := range n.Attr {
					if strings.HasPrefix(strings.ToLower(a.Key), "on") {
						t.Errorf("anchor has event attribute %s=%q", a.Key, a.Val)
					}
					if !slices.Contains([]string{"href", "class", "rel", "target"}, a.Key) {
						t.Errorf("anchor has unexpected attribute %s=%q", a.Key, a.Val)
					}
				}
				href := attr(n, "href")
				lower := strings.ToLower(strings.TrimSpace(href))
				if !strings.HasPrefix(lower, "/people/") && !strings.HasPrefix(lower, "/search?q=") &&
					!strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
					t.Errorf("href %q is neither a local path nor http(s)", href)
				}
				got = append(got, anchor{
					href:     href,
					class:    attr(n, "class"),
					text:     textContent(n),
					external: attr(n, "rel") == "nofollow noopener noreferrer ugc" && attr(n, "target") == "_blank",
				})
			}
			if !slices.Equal(got, tc.anchors) {
				t.Errorf("anchors\n got: %+v\nwant: %+v\nin %s", got, tc.anchors, out)
			}

			want := tc.wantText
			if want == "" {
				want = tc.body
			}
			if got := textContent(root); got != want {
				t.Errorf("text content = %q, want %q", got, want)
			}
		})
	}
}

func TestRichTextMarkup(t *testing.T) {
	got := renderRichText(t, "@ana #go https://go.dev\nx<y")
	want := `<div class="share-body"><a href="/people/ana" class="mention">@ana</a> ` +
		`<a href="/search?q=%23go" class="tag-link">#go</a> ` +
		`<a href="https://go.dev" rel="nofollow noopener noreferrer ugc" target="_blank">https://go.dev</a>` +
		`<br>x&lt;y</div>`
	if got != want {
		t.Errorf("markup\n got: %s\nwant: %s", got, want)
	}
}

func TestLinkURLRechecksScheme(t *testing.T) {
	for _, u := range []string{"javascript:alert(1)", "data:text/html,x", "ftp://x.org", "http://", "//x.org"} {
		if href, ok := linkURL(u); ok {
			t.Errorf("linkURL(%q) = %q, true; want it refused", u, href)
		}
	}
	if href, ok := linkURL("https://x.org/a"); !ok || href != "https://x.org/a" {
		t.Errorf("linkURL(https://x.org/a) = %q, %v; want it kept", href, ok)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// textContent is the text a reader sees, with each <br> as a newline.
func textContent(n *html.Node) string {
	var b strings.Builder
	for d := range n.Descendants() {
		switch {
		case d.Type == html.TextNode:
			b.WriteString(d.Data)
		case d.Type == html.ElementNode && d.DataAtom == atom.Br:
			b.WriteByte('\n')
		}
	}
	return b.String()
}
