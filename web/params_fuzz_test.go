package web

import (
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
)

// The parsers of web/params.go, fuzzed: none may panic, an error is always a
// *paramError naming a parameter, and what is accepted is within its bounds
// and comes back the same when written as a query again and re-parsed. The
// seeds run as ordinary tests in `make test`; `make fuzz` explores.

// querySeeds are raw query strings worth starting from.
var querySeeds = []string{
	"", "before=10&limit=5", "limit=0", "limit=100", "limit=101", "before=-1", "before=+1", "before=007", "before=9223372036854775807",
	"before=9223372036854775808", "limit=1e3", "limit= 5", "community=ops&tag=%23go", "tag=%ff", "community=%00", "q=%E2%80%AEx",
	"q=" + strings.Repeat("a", 201), "status=open&scope=mine", "scope=%0d%0a", "window=all&community=3&kind=advice&focus=ana",
	"window=7d", "community=-1", "community=01", "community=all&kind=all", "kind=<script>", "focus=" + strings.Repeat("%C3%A9", 201),
	"sort=handle&dir=asc&page=2", "sort=x", "dir=up", "page=0", "page=1000001", "after=ana&q=go", "after=%ff",
	"before=1&before=2", "q=%zz", "q=a;b",
}

// checkParamErr asserts err is a *paramError naming one of fields.
func checkParamErr(t *testing.T, err error, fields ...string) {
	t.Helper()
	var pe *paramError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *paramError", err, err)
	}
	for _, f := range fields {
		if pe.Field == f {
			if pe.Message == "" {
				t.Fatalf("paramError for %s has no message", f)
			}
			return
		}
	}
	t.Fatalf("paramError names %q, want one of %q", pe.Field, fields)
}

// checkText asserts an accepted text filter obeys parseQueryText's rules.
func checkText(t *testing.T, name, v string, max int) {
	t.Helper()
	if !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) || v != strings.TrimSpace(v) || utf8.RuneCountInString(v) > max {
		t.Fatalf("%s = %q accepted: not trimmed valid text of at most %d characters", name, v, max)
	}
}

func FuzzParseLastEventID(f *testing.F) {
	for _, s := range []string{"", "0", "1", "42", "007", "-1", "+1", " 1", "1 ", "18446744073709551615", "18446744073709551616", "1e3", "0x10", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		n, err := parseLastEventID(v)
		if err != nil {
			checkParamErr(t, err, "Last-Event-ID")
			if u, perr := strconv.ParseUint(v, 10, 64); perr == nil && strconv.FormatUint(u, 10) == v {
				t.Fatalf("the id %q this server could have sent was refused", v)
			}
			return
		}
		if v == "" {
			if n != 0 {
				t.Fatalf("empty header gave %d", n)
			}
			return
		}
		if got := strconv.FormatUint(n, 10); got != v {
			t.Fatalf("%q parsed to %d, which writes as %q", v, n, got)
		}
	})
}

func FuzzParseCount(f *testing.F) {
	for _, s := range []string{"", "0", "5", "100", "101", "-5", "+5", "05", " 5", "9223372036854775807", "9223372036854775808", "1.5"} {
		f.Add(s, int64(100))
		f.Add(s, int64(0))
	}
	f.Fuzz(func(t *testing.T, v string, max int64) {
		if max < 0 {
			max = -max
		}
		const def = 7
		n, err := parseCount("limit", v, def, max)
		if err != nil {
			checkParamErr(t, err, "limit")
			return
		}
		switch {
		case v == "":
			if n != def {
				t.Fatalf("empty gave %d, want the default", n)
			}
		case n < 0 || (max > 0 && n > max):
			t.Fatalf("%q gave %d, outside 0..%d", v, n, max)
		case strconv.FormatInt(n, 10) != v:
			t.Fatalf("%q gave %d, which writes differently", v, n)
		}
	})
}

func FuzzParseQueryText(f *testing.F) {
	for _, s := range []string{"", "go", "  go  ", "\xff", "a\x00b", "a\tb", "\u202Ex", strings.Repeat("é", 200), strings.Repeat("é", 201), "#tag", "@ana"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, err := parseQueryText("q", v, maxQueryText)
		if err != nil {
			checkParamErr(t, err, "q")
			return
		}
		checkText(t, "q", got, maxQueryText)
		if again, err := parseQueryText("q", got, maxQueryText); err != nil || again != got {
			t.Fatalf("%q is not stable: again %q, %v", got, again, err)
		}
		if got != strings.TrimSpace(v) {
			t.Fatalf("%q became %q: more than trimmed", v, got)
		}
	})
}

// setIf adds a parameter when it is not empty (the parsers treat a missing
// and an empty parameter alike).
func setIf(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func checkPageBounds(t *testing.T, before int64, limit, max int) {
	t.Helper()
	if before < 0 || limit < 1 || limit > max {
		t.Fatalf("before %d, limit %d accepted; want before >= 0 and limit 1..%d", before, limit, max)
	}
}

func FuzzParseFeedFilter(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // what a malformed query still yields is what the handler sees
		got, err := parseFeedFilter(q)
		if err != nil {
			checkParamErr(t, err, "before", "limit", "community", "tag")
			return
		}
		checkPageBounds(t, got.Before, got.Limit, 100)
		checkText(t, "community", got.Community, maxQueryName)
		checkText(t, "tag", got.Tag, maxQueryName)
		again := url.Values{"limit": {strconv.Itoa(got.Limit)}}
		setIf(again, "before", strconv.FormatInt(got.Before, 10))
		setIf(again, "community", got.Community)
		setIf(again, "tag", got.Tag)
		back, err := parseFeedFilter(again)
		if err != nil || back != got {
			t.Fatalf("%+v does not round-trip through %q: %+v, %v", got, again.Encode(), back, err)
		}
	})
}

func FuzzParseThreadFilter(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		got, err := parseThreadFilter(q)
		if err != nil {
			checkParamErr(t, err, "before", "limit", "community", "status", "scope", "q")
			return
		}
		checkPageBounds(t, got.Before, got.Limit, 100)
		checkText(t, "community", got.Community, maxQueryName)
		checkText(t, "status", got.Status, maxQueryName)
		checkText(t, "scope", got.Scope, maxQueryName)
		checkText(t, "q", got.Q, maxQueryText)
		again := url.Values{"limit": {strconv.Itoa(got.Limit)}}
		setIf(again, "before", strconv.FormatInt(got.Before, 10))
		for k, v := range map[string]string{"community": got.Community, "status": got.Status, "scope": got.Scope, "q": got.Q} {
			setIf(again, k, v)
		}
		if back, err := parseThreadFilter(again); err != nil || back != got {
			t.Fatalf("%+v does not round-trip: %+v, %v", got, back, err)
		}
	})
}

func FuzzParseProposalFilter(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		got, err := parseProposalFilter(q)
		if err != nil {
			checkParamErr(t, err, "before", "limit", "community", "status")
			return
		}
		checkPageBounds(t, got.Before, got.Limit, 100)
		checkText(t, "community", got.Community, maxQueryName)
		checkText(t, "status", got.Status, maxQueryName)
		again := url.Values{"limit": {strconv.Itoa(got.Limit)}}
		setIf(again, "before", strconv.FormatInt(got.Before, 10))
		setIf(again, "community", got.Community)
		setIf(again, "status", got.Status)
		if back, err := parseProposalFilter(again); err != nil || back != got {
			t.Fatalf("%+v does not round-trip: %+v, %v", got, back, err)
		}
	})
}

func FuzzParseAskFilter(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		got, err := parseAskFilter(q)
		if err != nil {
			checkParamErr(t, err, "before", "limit", "status", "scope", "tag")
			return
		}
		checkPageBounds(t, got.Before, got.Limit, 100)
		checkText(t, "status", got.Status, maxQueryName)
		checkText(t, "scope", got.Scope, maxQueryName)
		checkText(t, "tag", got.Tag, maxQueryName)
		again := url.Values{"limit": {strconv.Itoa(got.Limit)}}
		setIf(again, "before", strconv.FormatInt(got.Before, 10))
		setIf(again, "status", got.Status)
		setIf(again, "scope", got.Scope)
		setIf(again, "tag", got.Tag)
		if back, err := parseAskFilter(again); err != nil || back != got {
			t.Fatalf("%+v does not round-trip: %+v, %v", got, back, err)
		}
	})
}

func FuzzParsePeopleQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		after, text, err := parsePeopleQuery(q)
		if err != nil {
			checkParamErr(t, err, "after", "q")
			return
		}
		checkText(t, "after", after, maxQueryName)
		checkText(t, "q", text, maxQueryText)
		again := url.Values{}
		setIf(again, "after", after)
		setIf(again, "q", text)
		if a2, t2, err := parsePeopleQuery(again); err != nil || a2 != after || t2 != text {
			t.Fatalf("(%q, %q) does not round-trip: (%q, %q), %v", after, text, a2, t2, err)
		}
	})
}

// mapValues writes a map query back as the page's links and forms do.
func mapValues(mq mapQuery) url.Values {
	v := mq.values()
	setIf(v, "focus", mq.focus)
	setIf(v, "person", mq.person)
	return v
}

func FuzzParseMapQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		got, err := parseMapQuery(q)
		if err != nil {
			checkParamErr(t, err, "window", "community", "kind", "focus", "person")
			return
		}
		if got.win.name != "90d" && got.win.name != "all" {
			t.Fatalf("window %q accepted", got.win.name)
		}
		if got.community != allCommunities && got.community < 0 {
			t.Fatalf("community %d accepted", got.community)
		}
		checkText(t, "focus", got.focus, maxQueryText)
		checkText(t, "person", got.person, maxQueryText)
		if back, err := parseMapQuery(mapValues(got)); err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("%+v does not round-trip through %q: %+v, %v", got, mapValues(got).Encode(), back, err)
		}
	})
}

func FuzzParseMetricsQuery(f *testing.F) {
	for _, s := range querySeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		got, err := parseMetricsQuery(q)
		if err != nil {
			checkParamErr(t, err, "sort", "dir", "page")
			return
		}
		if got.page < 1 || got.page > 1_000_000 || (got.dir != "asc" && got.dir != "desc") {
			t.Fatalf("%+v accepted", got)
		}
		again := url.Values{"sort": {got.sort}, "dir": {got.dir}, "page": {strconv.Itoa(got.page)}}
		if back, err := parseMetricsQuery(again); err != nil || back != got {
			t.Fatalf("%+v does not round-trip: %+v, %v", got, back, err)
		}
	})
}

// FuzzParseAuditQuery fuzzes the audit page's filters (parseAuditQuery in
// web/audit.go): no panic, a refusal is a ValidationError naming the filter,
// an accepted filter is within its bounds and round-trips.
func FuzzParseAuditQuery(f *testing.F) {
	for _, s := range append(querySeeds, "action=signin_failed", "action=Signin", "action=a%00", "before=0", "limit=200", "limit=201") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw)
		got, err := parseAuditQuery(q)
		if err != nil {
			var ve *community.ValidationError
			if !errors.As(err, &ve) || (ve.Field != "action" && ve.Field != "before" && ve.Field != "limit") || ve.Message == "" {
				t.Fatalf("error %v does not name action, before or limit", err)
			}
			return
		}
		if (got.Action != "" && !auditActionRe.MatchString(got.Action)) || got.Before < 0 || got.Limit < 0 || got.Limit > audit.MaxLimit || got.Actor != 0 {
			t.Fatalf("%+v accepted", got)
		}
		again := url.Values{}
		setIf(again, "action", got.Action)
		if got.Before > 0 {
			again.Set("before", strconv.FormatInt(got.Before, 10))
		}
		if got.Limit > 0 {
			again.Set("limit", strconv.Itoa(got.Limit))
		}
		if back, err := parseAuditQuery(again); err != nil || back != got {
			t.Fatalf("%+v does not round-trip: %+v, %v", got, back, err)
		}
	})
}
