package community

import (
	"bytes"
	"io"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/nodecommunity/nodecommunity/internal/demo"
)

// The schema's own checks, restated so the fuzzer tests the importer against
// the database rather than against itself.
var (
	fuzzHandleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)
	fuzzSlugRe   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
)

// FuzzImportCSV feeds arbitrary bytes to the people-file parser (no database):
// it must not panic, every problem must point at a line, and when it reports no
// problem every row must be storable: valid handle, e-mail, name and lengths,
// text PostgreSQL accepts, and no handle, e-mail or id twice.
func FuzzImportCSV(f *testing.F) {
	f.Add([]byte(impGoodPeople))
	f.Add([]byte("handle,display_name,email\n"))
	f.Add([]byte("\ufeffHandle,Display Name,Email\r\nana,Ana,ANA@example.org\r\n"))
	f.Add([]byte("handle,display_name,email,community\nana,\"A, \"\"B\"\"\",a@b.co,C#;Data & ML;data-ml\n"))
	f.Add([]byte("handle,display_name,email\nana,\"Ana\nB\",a@b.co\n"))
	f.Add([]byte("email,handle,display_name,skills\nx@y.zz,@Bob,Bob,go|Go; rust\nx@y.zz,bob,Bob 2,\n"))
	f.Add([]byte("handle,display_name,email\nana,\xff,a@b.co\n"))
	people, _ := io.ReadAll(io.LimitReader(demo.People(), 2000))
	f.Add(people)

	f.Fuzz(func(t *testing.T, data []byte) {
		var p problems
		rows := parsePeople(bytes.NewReader(data), &p)
		for _, e := range p.rows {
			if e.Line < 1 || e.File != ImportFileNodes || e.Field == "" || e.Reason == "" {
				t.Fatalf("problem without a place or reason: %+v", e)
			}
		}
		if p.total < len(p.rows) {
			t.Fatalf("total %d < listed %d", p.total, len(p.rows))
		}
		if p.total > 0 {
			return
		}
		handles, emails, ids := map[string]bool{}, map[string]bool{}, map[string]bool{}
		lastLine := 1
		for _, r := range rows {
			if r.bad {
				t.Fatalf("line %d is bad but no problem was reported", r.line)
			}
			if r.line <= lastLine {
				t.Fatalf("line %d after line %d", r.line, lastLine)
			}
			lastLine = r.line
			if !fuzzHandleRe.MatchString(r.handle) || handles[r.handle] {
				t.Fatalf("line %d: handle %q accepted (twice: %v)", r.line, r.handle, handles[r.handle])
			}
			handles[r.handle] = true
			at := strings.LastIndexByte(r.email, '@')
			if at < 1 || !strings.Contains(r.email[at:], ".") || r.email != strings.ToLower(r.email) ||
				strings.ContainsFunc(r.email, func(c rune) bool { return c > unicode.MaxASCII || c <= ' ' }) || emails[r.email] {
				t.Fatalf("line %d: e-mail %q accepted", r.line, r.email)
			}
			emails[r.email] = true
			if r.externalID != "" {
				if ids[r.externalID] || strings.ContainsFunc(r.externalID, unicode.IsSpace) || strings.Contains(r.externalID, "#") ||
					utf8.RuneCountInString(r.externalID) > maxExternalID {
					t.Fatalf("line %d: id %q accepted", r.line, r.externalID)
				}
				ids[r.externalID] = true
			}
			if n := utf8.RuneCountInString(r.displayName); n < 1 || n > 100 {
				t.Fatalf("line %d: display name of %d characters accepted", r.line, n)
			}
			for _, s := range append([]string{r.handle, r.displayName, r.email, r.externalID, r.title, r.location}, append(r.skills, r.communities...)...) {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) || s != strings.TrimSpace(s) {
					t.Fatalf("line %d: text %q accepted", r.line, s)
				}
			}
			if utf8.RuneCountInString(r.title) > 100 || utf8.RuneCountInString(r.location) > 100 {
				t.Fatalf("line %d: title or location too long", r.line)
			}
			if len(r.skills) > maxSkills {
				t.Fatalf("line %d: %d skills accepted", r.line, len(r.skills))
			}
			for _, s := range r.skills {
				if s == "" || utf8.RuneCountInString(s) > maxSkillLen || s != strings.ToLower(s) || strings.ContainsAny(s, ";|") {
					t.Fatalf("line %d: skill %q accepted", r.line, s)
				}
			}
			slugs := map[string]bool{}
			for _, c := range r.communities {
				s := Slugify(c)
				if !fuzzSlugRe.MatchString(s) || slugs[s] || c == "" || utf8.RuneCountInString(c) > 100 || strings.Contains(c, ";") {
					t.Fatalf("line %d: community %q (slug %q) accepted", r.line, c, s)
				}
				slugs[s] = true
			}
		}
	})
}

// FuzzImportEdges does the same for the edges parser: no panic, and every pair
// it accepts is two non-empty names without spaces, '#' or invalid text.
func FuzzImportEdges(f *testing.F) {
	f.Add([]byte("a b\n# c\n\n1 2 # x\n"))
	f.Add([]byte("a\tb\r\nc d e\n"))
	f.Add([]byte("a \x00b\n\xff x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p problems
		ties := parseEdges(bytes.NewReader(data), &p)
		for _, e := range p.rows {
			if e.Line < 1 || e.File != ImportFileEdges || e.Reason == "" {
				t.Fatalf("problem without a place or reason: %+v", e)
			}
		}
		for _, tie := range ties {
			for _, s := range []string{tie.from, tie.to} {
				if s == "" || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '#' || r == 0 }) {
					t.Fatalf("line %d: name %q accepted", tie.line, s)
				}
			}
		}
	})
}
