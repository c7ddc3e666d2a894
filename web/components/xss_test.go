package components

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"github.com/nodecommunity/nodecommunity/web/htmlcheck"
)

// xssComponent renders one exported component with a view model the filler
// filled.
type xssComponent struct {
	name   string
	render func(f *filler) templ.Component
}

// viewOf builds a component entry for a component taking one view model.
func viewOf[T any](name string, c func(T) templ.Component) xssComponent {
	return xssComponent{name, func(f *filler) templ.Component {
		var v T
		f.fill(reflect.ValueOf(&v).Elem(), 0)
		return c(v)
	}}
}

// xssComponents is every exported component. TestEveryComponentIsInTheXSSCorpus
// fails when a new one is missing here: add it, and the reflection filler puts
// the corpus into every string of its view model.
var xssComponents = []xssComponent{
	viewOf("NeedsPage", NeedsPage),
	viewOf("AskPage", AskPage),
	viewOf("AskRoutedNotice", AskRoutedNotice),
	viewOf("AsksForYou", AsksForYou),
	viewOf("SignupPage", SignupPage),
	viewOf("SigninPage", SigninPage),
	viewOf("PasswordPage", PasswordPage),
	viewOf("SessionsPage", SessionsPage),
	viewOf("ResetPage", ResetPage),
	viewOf("EndPersonSessions", EndPersonSessions),
	viewOf("Cluster", Cluster),
	viewOf("ClusterTable", ClusterTable),
	viewOf("Connections", Connections),
	viewOf("ConnectForm", ConnectForm),
	viewOf("MyNetwork", MyNetwork),
	viewOf("Pulse", Pulse),
	viewOf("CommunityMap", CommunityMap),
	viewOf("CommunityDetail", CommunityDetail),
	viewOf("OrgMap", OrgMap),
	viewOf("MetricsTable", MetricsTable),
	viewOf("Trends", Trends),
	viewOf("Access", Access),
	viewOf("Home", Home),
	viewOf("ImportPage", ImportPage),
	viewOf("KudosPanel", KudosPanel),
	viewOf("KudosPage", KudosPage),
	viewOf("ShareVerification", ShareVerification),
	viewOf("MarkPage", MarkPage),
	viewOf("CorrectionPage", CorrectionPage),
	viewOf("Layout", Layout),
	viewOf("ErrorPage", ErrorPage),
	viewOf("Share", Share),
	viewOf("ShareComposer", ShareComposer),
	viewOf("Dashboard", Dashboard),
	viewOf("Communities", Communities),
	viewOf("CommunityPage", CommunityPage),
	viewOf("People", People),
	viewOf("Person", Person),
	viewOf("Search", Search),
	viewOf("EditShare", EditShare),
	{"ComposePage", func(f *filler) templ.Component {
		var p Page
		var c Composer
		f.fill(reflect.ValueOf(&p).Elem(), 0)
		f.fill(reflect.ValueOf(&c).Elem(), 0)
		return ComposePage(p, c)
	}},
	viewOf("OnlineList", OnlineList),
	viewOf("ConnectionNotice", ConnectionNotice),
	viewOf("ShareMarkNotice", ShareMarkNotice),
	viewOf("SharePage", SharePage),
	viewOf("ProfilePage", ProfilePage),
	viewOf("DecisionList", DecisionList),
	viewOf("Decisions", Decisions),
	viewOf("NewDecision", NewDecision),
	viewOf("DecisionPage", DecisionPage),
	viewOf("DecisionAct", DecisionAct),
	viewOf("DecisionResults", DecisionResults),
	viewOf("RichText", RichText),
	viewOf("Threads", Threads),
	viewOf("NewThread", NewThread),
	viewOf("ThreadPage", ThreadPage),
	viewOf("ReplyItem", ReplyItem),
	viewOf("Reactions", Reactions),
	viewOf("RequestList", RequestList),
	viewOf("ResolvedBanner", ResolvedBanner),
	viewOf("ResolvedFragment", ResolvedFragment),
	viewOf("ResolveProposalList", ResolveProposalList),
	{"ViewingList", func(f *filler) templ.Component {
		var people []PersonLink
		f.fill(reflect.ValueOf(&people).Elem(), 0)
		return ViewingList(people, f.str())
	}},
	viewOf("EditReply", EditReply),
	viewOf("FeedbackRequests", FeedbackRequests),
	viewOf("FeedbackRequestItem", FeedbackRequestItem),
	viewOf("FeedbackNotice", FeedbackNotice),
	viewOf("AuditPage", AuditPage),
	{"SignoutEverywhere", func(*filler) templ.Component { return SignoutEverywhere() }},
	viewOf("PrivacyPage", PrivacyPage),
}

// filler fills a view model by reflection: every string from its list (in
// turn, so each field meets each string across the passes), every bool with
// truth, numbers small, times fixed, two elements in each slice and a few
// keys in each map. New fields are covered without touching this test.
type filler struct {
	strs  []string // nil: plainString
	next  int
	truth bool
}

// formFields are map keys worth filling: the fields FieldErrors name.
var formFields = []string{"body", "title", "name", "slug", "purpose", "message", "values", "handle", "email",
	"display_name", "password", "invite", "reason", "source", "summary", "statement", "options", "closes_at",
	"quorum", "tags", "to_handle", "to_handles", "community", "kind", "audience", "nodes", "edges", "location",
	"bio", "skills", "offers", "needs", "urgency", "position", "choice", "due", "q"}

var fixedTime = time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC)

func (f *filler) str() string {
	defer func() { f.next++ }()
	if f.strs == nil {
		return plainString(f.next)
	}
	return f.strs[f.next%len(f.strs)]
}

// plainString is the i-th plain string: all distinct, so no two fields are
// equal by chance (a template comparing them would take another branch), and
// each a valid https link, so rich text and source links take their richest
// branch: a hostile rendering can then only have fewer elements, never more.
func plainString(i int) string { return fmt.Sprintf("https://example.org/plain-%d", i) }

func (f *filler) fill(v reflect.Value, depth int) {
	if depth > 6 {
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(f.str())
	case reflect.Bool:
		v.SetBool(f.truth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			v.SetInt(int64(90 * time.Minute))
			return
		}
		v.SetInt(2)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(2)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			f.fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			f.fill(v.Index(i), depth+1)
		}
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		kt, et := v.Type().Key(), v.Type().Elem()
		if kt.Kind() != reflect.String || et.Kind() == reflect.Interface {
			return
		}
		for _, k := range append(slices.Clone(formFields), f.str()) {
			e := reflect.New(et).Elem()
			f.fill(e, depth+1)
			m.SetMapIndex(reflect.ValueOf(k).Convert(kt), e)
		}
		v.Set(m)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(fixedTime))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i), depth+1)
			}
		}
	}
}

const xssNonce = "xss-test-nonce"

func renderXSS(t *testing.T, c xssComponent, f *filler) (out string) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s panicked with filled view model: %v", c.name, p)
		}
	}()
	ctx := templ.WithNonce(context.Background(), xssNonce)
	ctx = WithViewer(ctx, Viewer{Handle: f.str(), Steward: f.truth, Analyst: f.truth})
	var buf bytes.Buffer
	if err := c.render(f).Render(ctx, &buf); err != nil {
		t.Fatalf("render %s: %v", c.name, err)
	}
	return buf.String()
}

// mentionHandle is the handle rule: a mention links only to a handle that
// could exist, spelt exactly as written.
var mentionHandle = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{1,31}$`)

// TestXSSCorpusThroughEveryComponent renders every exported component with
// each hostile string in every string of its view model (and the viewer's
// handle), with bools all true and all false, and asserts nothing executable
// comes out: no script without our nonce, no event handler, no URL that is
// not http(s), mailto or relative, no element the same component does not
// render for plain words, and mentions that link only to the exact handle.
func TestXSSCorpusThroughEveryComponent(t *testing.T) {
	for _, c := range xssComponents {
		t.Run(c.name, func(t *testing.T) {
			if problems, markup := xssProblems(t, c); len(problems) > 0 {
				for _, p := range problems {
					t.Error(p)
				}
				t.Logf("markup: %s", clipMarkup(markup))
			}
		})
	}
}

// xssProblems renders c with plain strings and then with the corpus at every
// shift, bools all true and all false, and returns what the first rendering
// with a problem got wrong (and its markup).
func xssProblems(t *testing.T, c xssComponent) ([]string, string) {
	t.Helper()
	corpus := htmlcheck.Hostile
	opts := htmlcheck.Options{Nonce: xssNonce, ScriptPrefix: "/static/"}
	for _, truth := range []bool{true, false} {
		plain := renderXSS(t, c, &filler{truth: truth})
		if p := htmlcheck.Check(plain, opts); len(p) > 0 {
			return []string{fmt.Sprintf("with plain strings (bools %v) already: %v", truth, p)}, plain
		}
		plainTags := htmlcheck.Tags(plain)
		// Shifting the start of the corpus gives every field every string.
		for shift := range corpus {
			out := renderXSS(t, c, &filler{strs: corpus, next: shift, truth: truth})
			var problems []string
			for _, p := range htmlcheck.Check(out, opts) {
				problems = append(problems, fmt.Sprintf("bools %v, shift %d: %v", truth, shift, p))
			}
			if d := tagDiff(plainTags, htmlcheck.Tags(out)); d != "" {
				problems = append(problems, fmt.Sprintf("bools %v, shift %d: more elements than the plain rendering: %s", truth, shift, d))
			}
			for _, p := range mentionProblems(out) {
				problems = append(problems, fmt.Sprintf("bools %v, shift %d: %s", truth, shift, p))
			}
			if len(problems) > 0 {
				return problems, out
			}
		}
	}
	return nil, ""
}

// TestXSSOracleCatchesUnescapedText proves the oracle above works: a
// component writing its text raw (as templ.Raw would) is caught, in text and
// in an attribute, and one escaping it passes.
func TestXSSOracleCatchesUnescapedText(t *testing.T) {
	raw := xssComponent{"raw text", func(f *filler) templ.Component {
		s := f.str()
		return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, "<p>"+s+"</p>")
			return err
		})
	}}
	rawAttr := xssComponent{"raw attribute", func(f *filler) templ.Component {
		s := f.str()
		return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, `<p title="`+s+`">x</p>`)
			return err
		})
	}}
	rawMention := xssComponent{"mention to the wrong person", func(f *filler) templ.Component {
		return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, `<a class="mention" href="/people/admin">`+htmlcheck.Homoglyph+`</a>`)
			return err
		})
	}}
	for _, c := range []xssComponent{raw, rawAttr, rawMention} {
		if problems, _ := xssProblems(t, c); len(problems) == 0 {
			t.Errorf("%s: the oracle found nothing", c.name)
		}
	}
	escaped := xssComponent{"escaped", func(f *filler) templ.Component {
		s := f.str()
		return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
			_, err := io.WriteString(w, `<p title="`+templ.EscapeString(s)+`">`+templ.EscapeString(s)+"</p>")
			return err
		})
	}}
	if problems, markup := xssProblems(t, escaped); len(problems) > 0 {
		t.Errorf("escaped text flagged: %v\n%s", problems, markup)
	}
}

// tagDiff lists the elements the hostile rendering has more of than the
// plain one: text that became markup. It leaves out what rich text makes of
// mentions, tags, links and line breaks (<a>, <br>), which Check and
// checkMentions vet instead.
func tagDiff(plain, hostile map[string]int) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(hostile)) {
		if k != "a" && k != "br" && hostile[k] > plain[k] {
			diffs = append(diffs, fmt.Sprintf("<%s> %d, plain %d", k, hostile[k], plain[k]))
		}
	}
	return strings.Join(diffs, "; ")
}

// mentionProblems checks every mention link points at exactly the handle it
// shows, which must be a valid (ASCII) handle: a homoglyph never links.
func mentionProblems(markup string) []string {
	doc, err := html.Parse(strings.NewReader(markup))
	if err != nil {
		return []string{"parse: " + err.Error()}
	}
	var out []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode || n.Data != "a" || attr(n, "class") != "mention" {
			continue
		}
		text := textContent(n)
		handle, ok := strings.CutPrefix(text, "@")
		if !ok || !mentionHandle.MatchString(handle) {
			out = append(out, fmt.Sprintf("mention %q is not @ and a handle", text))
		}
		if href := attr(n, "href"); href != "/people/"+handle {
			out = append(out, fmt.Sprintf("mention %q links to %q, want /people/%s", text, href, handle))
		}
	}
	return out
}

func clipMarkup(s string) string {
	if len(s) > 4000 {
		return s[:4000] + "…"
	}
	return s
}

// TestXSSHomoglyphMentionsDoNotLink: "@аdmin" (Cyrillic а) and "@adminа" stay
// text; "@admin" links to admin.
func TestXSSHomoglyphMentionsDoNotLink(t *testing.T) {
	for _, body := range []string{htmlcheck.Homoglyph, "@admin\u0430", "@\u0430dmin and @adm\u0456n", "\u202E@admin"} {
		out := renderRichText(t, body)
		if strings.Contains(out, "/people/") && body != "\u202E@admin" {
			t.Errorf("RichText(%q) links to a person: %s", body, out)
		}
		for _, p := range mentionProblems(out) {
			t.Error(p)
		}
	}
	if out := renderRichText(t, "@admin"); !strings.Contains(out, `href="/people/admin"`) {
		t.Errorf("@admin does not link to admin: %s", out)
	}
}

var exportedTempl = regexp.MustCompile(`(?m)^templ ([A-Z]\w*)\(`)

// TestEveryComponentIsInTheXSSCorpus keeps xssComponents complete: every
// exported templ component must be listed, so a new page cannot skip the
// corpus.
func TestEveryComponentIsInTheXSSCorpus(t *testing.T) {
	files, err := filepath.Glob("*.templ")
	if err != nil || len(files) == 0 {
		t.Fatalf("no .templ files (%v)", err)
	}
	listed := map[string]bool{}
	for _, c := range xssComponents {
		listed[c.name] = true
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range exportedTempl.FindAllStringSubmatch(string(src), -1) {
			if !listed[m[1]] {
				t.Errorf("%s: component %s is not in xssComponents (web/components/xss_test.go): add it", f, m[1])
			}
		}
	}
}
