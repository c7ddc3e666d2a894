// Package sharetext owns the grammar of a share's body: it splits the text a
// person wrote into plain text, @mentions, #tags, http(s) links and line
// breaks, and collects the distinct mentions, tags and links.
//
// The package is pure and dependency-free (standard library only) so that the
// same rules serve the store (which persists tags and mention ids), the
// renderer (which turns segments into escaped HTML) and the fuzz test. Parse
// never fails: anything that does not match a rule stays plain text, and the
// segments always spell out the input again, so nothing a person wrote is
// lost or reordered by rendering.
package sharetext

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind says what a Segment is.
type Kind uint8

// The kinds of segment, in the order a reader meets them in the rules.
const (
	Text Kind = iota
	Mention
	Tag
	Link
	LineBreak
)

// String names the kind, for test messages and logs.
func (k Kind) String() string {
	switch k {
	case Text:
		return "Text"
	case Mention:
		return "Mention"
	case Tag:
		return "Tag"
	case Link:
		return "Link"
	case LineBreak:
		return "LineBreak"
	}
	return "Kind(?)"
}

// Limits of what one share can reference. Mentions and tags are persisted as
// arrays and each mention notifies a person, so a body cannot fan out without
// bound; distinct values past the limit stay plain text.
const (
	MaxMentions = 50
	MaxTags     = 50
	// MaxTagLen is the longest tag in runes; a longer #run is not a tag.
	MaxTagLen = 40
	// MaxHandleLen and MinHandleLen match the handle rule of the nodes table.
	MaxHandleLen = 32
	MinHandleLen = 2
)

// Segment is one piece of a parsed body.
type Segment struct {
	Kind Kind
	// Text is the piece exactly as written ("\n" for a LineBreak).
	Text string
	// Value is the normalised meaning: a mention's lower-case handle without
	// '@', a tag's lower-case name without '#', a link's URL; empty for Text
	// and LineBreak.
	Value string
}

// Parsed is the result of Parse.
type Parsed struct {
	Segments []Segment
	// Mentions, Tags and Links are the distinct Values, in order of first
	// appearance.
	Mentions []string
	Tags     []string
	Links    []string
}

// Parse splits body into segments. Invalid UTF-8 is first replaced with
// U+FFFD, so the segments' texts (with "\n" for each LineBreak) join back to
// strings.ToValidUTF8(body, "\uFFFD") exactly.
//
// The rules:
//   - A mention is '@' plus a handle (^[a-z0-9][a-z0-9_-]{1,31}$, any case in
//     the text), where the '@' starts the text or follows a rune that is not a
//     letter, digit, combining mark, '_' or '.' (so ana@example.com is not a
//     mention). Trailing
//     '-' and '_' end the sentence rather than the handle ("@ana_" mentions
//     ana). A handle run directly followed by another letter, digit or mark
//     (say "@anaé") is not a mention.
//   - A tag is '#' plus 1–40 letters, digits, '_' or '-' (combining marks are
//     allowed after the first rune, so scripts such as Devanagari work),
//     starting with a letter or digit, lower-cased; the '#' starts the text or
//     follows a rune that is not a letter, digit, mark, '_', '#', '&' or '/'
//     (so "a#b", "&#39;" and "site/#frag" hold no tag). Trailing '-' and '_'
//     are not part of it. A longer run is not a tag.
//   - A link starts with http:// or https:// (any case) at the start of the
//     text or after a rune that is not a letter, digit or mark, runs to the next
//     space or control character, loses trailing .,;:!?)'" (a ')' is kept while
//     the URL has as many '(' as ')'), and must parse with net/url with a
//     non-empty host name. Anything else, javascript:, data:, ftp: or a bare
//     www.example.com included, is text. A link's fragment or path is never
//     read as a tag or mention, even when the URL fails to parse.
//   - Each '\n' is a LineBreak ("\r" stays in the text around it).
//   - At most MaxMentions distinct mentions and MaxTags distinct tags are
//     collected; a new one past the limit stays text, while repeats of one
//     already collected are still segments of their kind.
func Parse(body string) Parsed {
	if !utf8.ValidString(body) {
		body = strings.ToValidUTF8(body, "\uFFFD")
	}
	if body == "" {
		return Parsed{}
	}
	p := parser{s: body}
	// Size the segments once from a cheap upper estimate (each trigger makes at
	// most a segment and the text before it): letting append grow a slice of
	// thousands of segments allocates several times the final size. The bound
	// keeps a body of 10,000 '@' from reserving 20,000 segments it never uses.
	est := 2*(strings.Count(body, "@")+strings.Count(body, "#")+strings.Count(body, "\n")+strings.Count(body, "://")) + 1
	p.out.Segments = make([]Segment, 0, min(est, len(body)/3+1))
	p.run()
	return p.out
}

type parser struct {
	s         string
	textStart int // start of the pending plain text
	out       Parsed
	seen      map[seenKey]struct{}
}

type seenKey struct {
	kind  Kind
	value string
}

func (p *parser) run() {
	s := p.s
	// Every trigger is ASCII, and no byte of a multi-byte UTF-8 sequence is, so
	// a byte loop is safe and keeps a 10,000-character body in microseconds.
	for i := 0; i < len(s); {
		var next int
		switch s[i] {
		case '\n':
			p.emit(i, i+1, LineBreak, "")
			next = i + 1
		case '@':
			next = p.mention(i)
		case '#':
			next = p.tag(i)
		case 'h', 'H':
			next = p.link(i)
		}
		if next <= i {
			next = i + 1
		}
		i = next
	}
	if p.textStart < len(s) {
		p.out.Segments = append(p.out.Segments, Segment{Kind: Text, Text: s[p.textStart:]})
	}
}

// emit flushes the pending text before start and appends s[start:end] as a
// segment of kind k.
func (p *parser) emit(start, end int, k Kind, value string) {
	if p.textStart < start {
		p.out.Segments = append(p.out.Segments, Segment{Kind: Text, Text: p.s[p.textStart:start]})
	}
	p.out.Segments = append(p.out.Segments, Segment{Kind: k, Text: p.s[start:end], Value: value})
	p.textStart = end
}

// collect records value under kind k unless already seen. It reports whether
// the value may become a segment: a repeat always may, a new value only while
// the list is under max.
func (p *parser) collect(k Kind, list *[]string, max int, value string) bool {
	key := seenKey{k, value}
	if _, ok := p.seen[key]; ok {
		return true
	}
	if len(*list) >= max {
		return false
	}
	if p.seen == nil {
		p.seen = make(map[seenKey]struct{})
	}
	p.seen[key] = struct{}{}
	*list = append(*list, value)
	return true
}

// prevRune is the rune before byte offset i, or -1 at the start.
func (p *parser) prevRune(i int) rune {
	if i == 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(p.s[:i])
	return r
}

// isWordRune reports whether r belongs to a word: a letter, a digit, or a
// combining mark (a decomposed "é" is 'e' plus U+0301, and must not end the
// word, or "jose\u0301@example.com" would mention "example").
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isHandleByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func isAlnumByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// mention handles an '@' at i and returns where scanning goes on.
func (p *parser) mention(i int) int {
	if r := p.prevRune(i); r != -1 && (isWordRune(r) || r == '_' || r == '.') {
		return i + 1
	}
	s := p.s
	start := i + 1
	end := start
	for end < len(s) && isHandleByte(s[end]) {
		end++
	}
	runEnd := end
	// A letter, digit or combining mark right after the ASCII run (say "@anaé")
	// means the word goes on: it is not a handle, and the run is plain text.
	if r, _ := utf8.DecodeRuneInString(s[runEnd:]); runEnd < len(s) && isWordRune(r) {
		return runEnd
	}
	for end > start && (s[end-1] == '_' || s[end-1] == '-') {
		end--
	}
	n := end - start
	if n < MinHandleLen || n > MaxHandleLen || !isAlnumByte(s[start]) {
		return runEnd
	}
	handle := strings.ToLower(s[start:end])
	if !p.collect(Mention, &p.out.Mentions, MaxMentions, handle) {
		return runEnd
	}
	p.emit(i, end, Mention, handle)
	return end
}

func isTagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_' || r == '-'
}

// tag handles a '#' at i and returns where scanning goes on.
func (p *parser) tag(i int) int {
	if r := p.prevRune(i); r != -1 && (isWordRune(r) || r == '_' || r == '#' || r == '&' || r == '/') {
		return i + 1
	}
	s := p.s
	start := i + 1
	end := start
	runes := 0
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if !isTagRune(r) {
			break
		}
		end += size
		runes++
	}
	runEnd := end
	for end > start && (s[end-1] == '_' || s[end-1] == '-') {
		end--
		runes--
	}
	if runes < 1 || runes > MaxTagLen {
		return runEnd
	}
	if first, _ := utf8.DecodeRuneInString(s[start:]); !unicode.IsLetter(first) && !unicode.IsDigit(first) {
		return runEnd
	}
	tag := strings.ToLower(s[start:end])
	if !p.collect(Tag, &p.out.Tags, MaxTags, tag) {
		return runEnd
	}
	p.emit(i, end, Tag, tag)
	return end
}

// hasSchemePrefix reports whether s starts with http:// or https://, any case.
func hasSchemePrefix(s string) bool {
	const h, hs = "http://", "https://"
	// 'h' is common in prose: reject on the next byte before folding case.
	if len(s) < len(h) || s[1]|0x20 != 't' {
		return false
	}
	return len(s) >= len(h) && strings.EqualFold(s[:len(h)], h) ||
		len(s) >= len(hs) && strings.EqualFold(s[:len(hs)], hs)
}

// trailingPunct is what ends a sentence rather than a URL.
const trailingPunct = `.,;:!?)'"`

// link handles an 'h' or 'H' at i and returns where scanning goes on.
func (p *parser) link(i int) int {
	s := p.s
	if !hasSchemePrefix(s[i:]) {
		return i + 1
	}
	if r := p.prevRune(i); r != -1 && isWordRune(r) {
		return i + 1
	}
	end := i
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			break
		}
		end += size
	}
	runEnd := end
	// Counted once and kept up to date: recounting per trimmed ')' would be
	// quadratic on a body of 10,000 closing parentheses.
	opens, closes := strings.Count(s[i:end], "("), strings.Count(s[i:end], ")")
	for end > i && strings.IndexByte(trailingPunct, s[end-1]) >= 0 {
		if s[end-1] == ')' {
			if opens >= closes {
				break // the ')' closes a '(' inside the URL, as in a Wikipedia link
			}
			closes--
		}
		end--
	}
	candidate := s[i:end]
	if !ValidLink(candidate) {
		// The whole run stays text, so a broken URL's "#frag" or "@x" is not
		// read as a tag or mention either.
		return runEnd
	}
	p.collect(Link, &p.out.Links, len(s), candidate)
	p.emit(i, end, Link, candidate)
	return end
}

// ValidLink reports whether u is a URL Parse would make a link of: it parses
// with net/url, its scheme is http or https and it names a host. The renderer
// calls it again before trusting a URL as an href.
func ValidLink(u string) bool {
	parsed, err := url.Parse(u)
	if err != nil {
		return false
	}
	if parsed.Scheme != "http" && parsed.Scheme != "https" {
		return false
	}
	return parsed.Hostname() != ""
}
