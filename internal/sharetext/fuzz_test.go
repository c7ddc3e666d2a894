package sharetext

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// handleRe is the handle rule of the nodes table, written out again here so
// the fuzz test checks Parse against the rule rather than against itself.
var handleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)

// hostileSeeds are inputs written to break a parser or a renderer.
var hostileSeeds = []string{
	"<script>alert(1)</script>",
	`"><img src=x onerror=alert(1)>`,
	"javascript:alert(1)",
	"[x](javascript:alert(1))",
	"@ana<b>",
	`#tag"onmouseover=x`,
	`https://x.org/"onmouseover="alert(1)"<b>`,
	"JaVaScRiPt:alert(1) data:text/html;base64,PHNjcmlwdD4=",
	"http://", "https://", "http://:", "http://@", "http://[::1", "http://[::1]:80/", "http://a:b@c/",
	"http://" + strings.Repeat("(", 100), "https://x.org/" + strings.Repeat(")", 100),
	"\xff\xfe\xfd", "@\xff", "#\xff", "http://\xff.org", "a\x00b\x00@ana\x00#go",
	"\u202e@ana\u202c #\u200bgo", "#\u0301x", "@ana\u0301",
	"İstanbul #İSTANBUL #ǅ #ΣΑΣ #K",
	strings.Repeat("@", 300), strings.Repeat("#", 300), strings.Repeat("@ab", 200),
	strings.Repeat("\n", 100), "\r\n\r\n",
	"@" + strings.Repeat("a", 1000), "#" + strings.Repeat("ü", 1000),
}

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	for _, s := range hostileSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkInvariants(t, in, Parse(in))
	})
}

func joinSegments(segs []Segment) string {
	var b strings.Builder
	for _, s := range segs {
		if s.Kind == LineBreak {
			b.WriteByte('\n')
		} else {
			b.WriteString(s.Text)
		}
	}
	return b.String()
}

// checkInvariants asserts what must hold for every input: the segments spell
// the input again, every value obeys its rule, and the lists are the distinct
// values in order, within their limits.
func checkInvariants(t *testing.T, in string, p Parsed) {
	t.Helper()
	valid := strings.ToValidUTF8(in, "\uFFFD")
	if got := joinSegments(p.Segments); got != valid {
		t.Fatalf("joined segments = %q, want the input %q", got, valid)
	}
	if len(p.Mentions) > MaxMentions || len(p.Tags) > MaxTags {
		t.Errorf("collected %d mentions and %d tags, want at most %d and %d", len(p.Mentions), len(p.Tags), MaxMentions, MaxTags)
	}

	var mentions, tags, links []string
	for i, s := range p.Segments {
		switch s.Kind {
		case Text:
			if s.Text == "" || strings.Contains(s.Text, "\n") || s.Value != "" {
				t.Errorf("segment %d: text segment %q (value %q) is empty, holds a newline or has a value", i, s.Text, s.Value)
			}
			if i > 0 && p.Segments[i-1].Kind == Text {
				t.Errorf("segment %d: two text segments in a row", i)
			}
		case LineBreak:
			if s.Text != "\n" {
				t.Errorf("segment %d: line break text = %q, want \\n", i, s.Text)
			}
		case Mention:
			if !handleRe.MatchString(s.Value) {
				t.Errorf("segment %d: mention %q does not match %s", i, s.Value, handleRe)
			}
			if !strings.HasPrefix(s.Text, "@") || !strings.EqualFold(s.Text[1:], s.Value) {
				t.Errorf("segment %d: mention text %q does not spell @%s", i, s.Text, s.Value)
			}
			if !slices.Contains(mentions, s.Value) {
				mentions = append(mentions, s.Value)
			}
		case Tag:
			n := utf8.RuneCountInString(s.Value)
			if n == 0 || n > MaxTagLen || strings.ToLower(s.Value) != s.Value {
				t.Errorf("segment %d: tag %q is empty, longer than %d or not lower-case", i, s.Value, MaxTagLen)
			}
			if !strings.HasPrefix(s.Text, "#") || strings.ToLower(s.Text[1:]) != s.Value {
				t.Errorf("segment %d: tag text %q does not spell #%s", i, s.Text, s.Value)
			}
			if strings.ContainsAny(s.Value, " \t\n<>\"'&#@") {
				t.Errorf("segment %d: tag %q holds a space or markup character", i, s.Value)
			}
			if !slices.Contains(tags, s.Value) {
				tags = append(tags, s.Value)
			}
		case Link:
			u, err := url.Parse(s.Value)
			if err != nil {
				t.Errorf("segment %d: link %q does not parse: %v", i, s.Value, err)
			} else if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
				t.Errorf("segment %d: link %q has scheme %q and host %q, want http(s) and a host", i, s.Value, u.Scheme, u.Hostname())
			}
			if s.Text != s.Value || strings.ContainsFunc(s.Value, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
				t.Errorf("segment %d: link text %q differs from value %q or holds a space or control character", i, s.Text, s.Value)
			}
			if !slices.Contains(links, s.Value) {
				links = append(links, s.Value)
			}
		default:
			t.Errorf("segment %d: unknown kind %d", i, s.Kind)
		}
	}
	if !slices.Equal(p.Mentions, mentions) {
		t.Errorf("Mentions = %q, want the distinct mention segments %q", p.Mentions, mentions)
	}
	if !slices.Equal(p.Tags, tags) {
		t.Errorf("Tags = %q, want the distinct tag segments %q", p.Tags, tags)
	}
	if !slices.Equal(p.Links, links) {
		t.Errorf("Links = %q, want the distinct link segments %q", p.Links, links)
	}
}
