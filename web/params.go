package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nodecommunity/nodecommunity/internal/asks"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/feedback"
)

// This file parses what a request says outside its body: query filters,
// keyset cursors and the Last-Event-ID header. Each parser is a pure function
// (no I/O, no ResponseWriter) so params_fuzz_test.go can fuzz it, and each
// refuses what the database would choke on (invalid UTF-8, control
// characters, numbers out of range) with a 422 naming the parameter rather
// than letting it become a 500. An accepted value is canonical: formatting it
// again and parsing that gives the same value.

// paramError is a query parameter or header that broke its rule.
type paramError struct {
	Field   string
	Message string
}

func (e *paramError) Error() string { return e.Field + ": " + e.Message }

func badParam(field, format string, args ...any) error {
	return &paramError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// failParam answers a parser's error: 422 naming the parameter.
func (s *Server) failParam(w http.ResponseWriter, r *http.Request, err error) {
	var pe *paramError
	if errors.As(err, &pe) {
		s.failField(w, r, http.StatusUnprocessableEntity, pe.Field, pe.Message)
		return
	}
	s.failErr(w, r, err)
}

// Bounds of query text.
const (
	// maxQueryText bounds free-text filters (search, focus): the domain's
	// search takes 200 characters.
	maxQueryText = 200
	// maxQueryName bounds names used as filters: slugs (63), handles (32),
	// tags (40), statuses and scopes.
	maxQueryName = 64
	// maxCountDigits is the longest whole number a count or cursor may have
	// (int64 has 19 digits).
	maxCountDigits = 19
)

// canonicalDigits reports whether v is a whole number written the one way
// strconv.FormatInt writes it: digits only, no sign, no leading zero.
func canonicalDigits(v string, maxLen int) bool {
	if v == "" || len(v) > maxLen || (len(v) > 1 && v[0] == '0') {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// parseCount parses an optional non-negative whole number: "" is def, and a
// positive max is the largest allowed (0: any int64).
func parseCount(name, v string, def, max int64) (int64, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || !canonicalDigits(v, maxCountDigits) || (max > 0 && n > max) {
		msg := name + " must be a whole number"
		if max > 0 {
			msg += " from 0 to " + strconv.FormatInt(max, 10)
		}
		return 0, badParam(name, "%s.", msg)
	}
	return n, nil
}

// parseLimit is a page size: "" or 0 is def, otherwise 1 to max.
func parseLimit(v string, def, max int) (int, error) {
	n, err := parseCount("limit", v, int64(def), int64(max))
	if err != nil {
		return 0, err
	}
	if n == 0 {
		n = int64(def)
	}
	return int(n), nil
}

// parseLastEventID reads the Last-Event-ID header of a reconnecting stream:
// empty for a new stream, else a stream sequence as this server sent it.
func parseLastEventID(v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || !canonicalDigits(v, 20) {
		return 0, badParam("Last-Event-ID", "Last-Event-ID must be an event id this stream sent.")
	}
	return n, nil
}

// parseQueryText is an optional text filter: surrounding space trimmed, at
// most max characters, valid UTF-8 without control characters (PostgreSQL
// refuses invalid UTF-8 and NUL, and neither belongs in a filter).
func parseQueryText(name, v string, max int) (string, error) {
	if !utf8.ValidString(v) {
		return "", badParam(name, "%s must be UTF-8 text.", name)
	}
	v = strings.TrimSpace(v)
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "", badParam(name, "%s must not hold control characters.", name)
	}
	if n := utf8.RuneCountInString(v); n > max {
		return "", badParam(name, "%s takes at most %d characters; this one has %d.", name, max, n)
	}
	return v, nil
}

// parsePage is the keyset cursor and page size every list takes.
func parsePage(q url.Values, defLimit, maxLimit int) (before int64, limit int, err error) {
	if before, err = parseCount("before", q.Get("before"), 0, 0); err != nil {
		return 0, 0, err
	}
	limit, err = parseLimit(q.Get("limit"), defLimit, maxLimit)
	return before, limit, err
}

// textField is one text parameter for parseTexts: where it goes and its bound.
type textField struct {
	name string
	max  int
	dst  *string
}

// parseTexts reads several text parameters of q into their places.
func parseTexts(q url.Values, fields ...textField) error {
	for _, f := range fields {
		v, err := parseQueryText(f.name, q.Get(f.name), f.max)
		if err != nil {
			return err
		}
		*f.dst = v
	}
	return nil
}

// parseFeedFilter reads GET /api/v1/feed and the dashboard's filters:
// ?before&limit&community&tag.
func parseFeedFilter(q url.Values) (community.FeedFilter, error) {
	var f community.FeedFilter
	var err error
	if f.Before, f.Limit, err = parsePage(q, 20, 100); err != nil {
		return f, err
	}
	if err := parseTexts(q, textField{"community", maxQueryName, &f.Community}, textField{"tag", maxQueryName, &f.Tag}); err != nil {
		return f, err
	}
	// Tags are stored without '#': "#go" (or "##go") filters by go.
	f.Tag = strings.TrimSpace(strings.TrimLeft(f.Tag, "#"))
	return f, nil
}

// parseThreadFilter reads GET /api/v1/threads: ?community&status&scope&q&before&limit.
func parseThreadFilter(q url.Values) (feedback.ThreadFilter, error) {
	var f feedback.ThreadFilter
	var err error
	if f.Before, f.Limit, err = parsePage(q, 20, 100); err != nil {
		return f, err
	}
	err = parseTexts(q, textField{"community", maxQueryName, &f.Community}, textField{"status", maxQueryName, &f.Status},
		textField{"scope", maxQueryName, &f.Scope}, textField{"q", maxQueryText, &f.Q})
	return f, err
}

// parseProposalFilter reads GET /api/v1/proposals: ?community&status&before&limit.
func parseProposalFilter(q url.Values) (feedback.ProposalFilter, error) {
	var f feedback.ProposalFilter
	var err error
	if f.Before, f.Limit, err = parsePage(q, 20, 100); err != nil {
		return f, err
	}
	err = parseTexts(q, textField{"community", maxQueryName, &f.Community}, textField{"status", maxQueryName, &f.Status})
	return f, err
}

// parseAskFilter reads GET /api/v1/asks: ?status&scope&tag&before&limit.
func parseAskFilter(q url.Values) (asks.ListFilter, error) {
	var f asks.ListFilter
	var err error
	if f.Before, f.Limit, err = parsePage(q, 20, 100); err != nil {
		return f, err
	}
	err = parseTexts(q, textField{"status", maxQueryName, &f.Status}, textField{"scope", maxQueryName, &f.Scope},
		textField{"tag", maxQueryName, &f.Tag})
	return f, err
}

// parseSearchQuery reads ?q of the search page and GET /api/v1/search (and
// other free-text filters named q).
func parseSearchQuery(v string) (string, error) {
	return parseQueryText("q", v, maxQueryText)
}

// parsePeopleQuery reads the directory's ?after (keyset cursor: the last
// handle of the previous page) and ?q.
func parsePeopleQuery(q url.Values) (after, text string, err error) {
	if after, err = parseQueryText("after", q.Get("after"), maxQueryName); err != nil {
		return "", "", err
	}
	text, err = parseSearchQuery(q.Get("q"))
	return after, text, err
}

// parseWindow reads ?window=90d|all of the analytics pages (default 90d).
func parseWindow(v string) (graphWindow, error) {
	switch v {
	case "", "90d":
		return graphWindow{days: 90, name: "90d"}, nil
	case "all":
		return graphWindow{days: 0, name: "all"}, nil
	}
	return graphWindow{}, badParam("window", "window must be 90d or all.")
}

// parseMapQuery reads the organisation map's filters:
// ?window&community=N|all&kind=K|all&focus&person.
func parseMapQuery(q url.Values) (mapQuery, error) {
	win, err := parseWindow(q.Get("window"))
	if err != nil {
		return mapQuery{}, err
	}
	mq := mapQuery{win: win, community: allCommunities}
	if c := q.Get("community"); c != "" && c != "all" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || !canonicalDigits(c, 9) {
			return mapQuery{}, badParam("community", "community must be the number of a detected community, or all.")
		}
		mq.community = n
	}
	switch k := q.Get("kind"); {
	case k == "" || k == "all":
	case slices.Contains(community.ConnectionKinds, k):
		mq.kind = k
	default:
		return mapQuery{}, badParam("kind", "kind must be one of %s or all.", strings.Join(community.ConnectionKinds, ", "))
	}
	if err := parseTexts(q, textField{"focus", maxQueryText, &mq.focus}, textField{"person", maxQueryText, &mq.person}); err != nil {
		return mapQuery{}, err
	}
	return mq, nil
}

// metricsQuery is the metrics table's order and page.
type metricsQuery struct {
	sort, dir string
	page      int
}

// parseMetricsQuery reads the metrics table's ?sort&dir&page (its filters
// are the map's, parsed by parseMapQuery).
func parseMetricsQuery(q url.Values) (metricsQuery, error) {
	m := metricsQuery{sort: q.Get("sort"), dir: q.Get("dir")}
	if m.sort == "" {
		m.sort = "betweenness"
	}
	if !slices.ContainsFunc(metricColumns, func(c struct{ key, label string }) bool { return c.key == m.sort }) {
		return metricsQuery{}, badParam("sort", "sort must be betweenness, pagerank, degree, strength or handle.")
	}
	switch m.dir {
	case "":
		m.dir = "desc"
		if m.sort == "handle" {
			m.dir = "asc"
		}
	case "asc", "desc":
	default:
		return metricsQuery{}, badParam("dir", "dir must be asc or desc.")
	}
	page, err := parseCount("page", q.Get("page"), 1, 1_000_000)
	if err != nil {
		return metricsQuery{}, err
	}
	if page < 1 {
		return metricsQuery{}, badParam("page", "page must be 1 or more.")
	}
	m.page = int(page)
	return m, nil
}
