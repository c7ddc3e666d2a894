package community

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Import limits. Values are checked against them before anything is written, so
// the database's own checks never have to reject an imported row.
const (
	// MaxImportErrors is how many problems an *ImportErrors lists; the rest are counted.
	MaxImportErrors = 100
	maxKeptProblems = 1000 // problems kept while reading, before sorting and cutting to MaxImportErrors
	maxNameLen      = 100  // display name, community name, title, location (characters)
	maxExternalID   = 64
	maxSkillLen     = 50
	maxSkills       = 30
	maxEdgeLine     = 64 << 10
)

// The files an ImportError can point into.
const (
	ImportFileNodes = "nodes"
	ImportFileEdges = "edges"
)

// ImportInput is what Import reads: a CSV file of people and, optionally, a
// file of ties between them.
type ImportInput struct {
	// Nodes is CSV with a header row. Required columns: handle, display_name,
	// email. Optional: id (an external id the edges may use), skills (split by
	// ';' or '|'), community (names or slugs split by ';'), title, location.
	Nodes io.Reader
	// Edges, when not nil, holds one pair of people per line (handles or ids,
	// separated by white space); '#' starts a comment.
	Edges io.Reader
	// IfEmpty imports only into a network with no one in it yet (demo seeding by
	// several instances at once); otherwise the report says Skipped.
	IfEmpty bool
}

// ImportReport counts what an import did.
type ImportReport struct {
	Skipped          bool // IfEmpty was set and the network already had people: nothing was written
	People           int  // people created
	Communities      int  // communities created
	Memberships      int  // people added to communities
	TiesRead         int  // pairs read from the edges file
	SelfLoops        int  // ties from a person to themselves, skipped
	Merged           int  // repeated or reverse ties folded into one connection
	AlreadyConnected int  // pairs that had a connection before, left as they were
	Connections      int  // accepted connections created
	Elapsed          time.Duration
}

// ImportError is one bad row: the file ("nodes" or "edges"), its line (1 is the
// CSV header), the column or part at fault, and what is wrong.
type ImportError struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e ImportError) Error() string {
	return fmt.Sprintf("%s line %d: %s: %s", e.File, e.Line, e.Field, e.Reason)
}

// ImportErrors is returned when any row is bad; then nothing was imported.
// Rows lists the first MaxImportErrors problems, people file first, by line.
type ImportErrors struct {
	Rows  []ImportError
	Total int // all problems found, listed or not
}

func (e *ImportErrors) Error() string {
	if len(e.Rows) == 0 {
		return fmt.Sprintf("import: %d problems; nothing was imported", e.Total)
	}
	if e.Total == 1 {
		return "import: nothing was imported: " + e.Rows[0].Error()
	}
	return fmt.Sprintf("import: %d problems, nothing was imported; the first: %s", e.Total, e.Rows[0].Error())
}

// problems collects bad rows while reading; the first maxKeptProblems are kept.
type problems struct {
	rows  []ImportError
	total int
}

func (p *problems) add(file string, line int, field, format string, args ...any) {
	p.total++
	if len(p.rows) < maxKeptProblems {
		p.rows = append(p.rows, ImportError{File: file, Line: line, Field: field, Reason: fmt.Sprintf(format, args...)})
	}
}

// err is nil without problems, else an *ImportErrors in file and line order.
func (p *problems) err() error {
	if p.total == 0 {
		return nil
	}
	rows := slices.Clone(p.rows)
	slices.SortStableFunc(rows, func(a, b ImportError) int {
		if a.File != b.File {
			if a.File == ImportFileNodes {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Line, b.Line)
	})
	if len(rows) > MaxImportErrors {
		rows = rows[:MaxImportErrors]
	}
	return &ImportErrors{Rows: rows, Total: p.total}
}

// importPerson is one row of the people file after validation.
type importPerson struct {
	line        int
	handle      string
	displayName string
	email       string
	externalID  string
	title       string
	location    string
	skills      []string
	communities []string // as written, one per distinct slug
	bad         bool     // the row has a problem; kept so edges naming it are not reported too
}

// importTie is one line of the edges file.
type importTie struct {
	line     int
	from, to string
}

// importColumns are the columns the people file may have, and whether each is required.
type importColumn struct {
	name     string
	required bool
}

var importColumns = []importColumn{
	{"handle", true}, {"display_name", true}, {"email", true}, {"id", false},
	{"skills", false}, {"community", false}, {"title", false}, {"location", false},
}

func columnNames() string {
	names := make([]string, len(importColumns))
	for i, c := range importColumns {
		names[i] = c.name
	}
	return strings.Join(names, ", ")
}

// normColumn makes header names forgiving: case, surrounding space, and
// "Display Name" or "display-name" for display_name.
func normColumn(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(h)
}

// parsePeople reads and validates the people file without touching the
// database: every row is checked, and duplicates inside the file are found.
// Rows with problems are returned too, marked bad.
func parsePeople(r io.Reader, p *problems) []importPerson {
	const file = ImportFileNodes
	// Spreadsheets often start UTF-8 files with a byte order mark.
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // rows of the wrong width are reported by line below
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		p.add(file, 1, "header", "the file is empty: its first row must name the columns, at least handle, display_name and email")
		return nil
	}
	if err != nil {
		csvProblem(p, err)
		return nil
	}
	cols := map[string]int{}
	for i, h := range header {
		name := normColumn(h)
		known := slices.ContainsFunc(importColumns, func(c importColumn) bool { return c.name == name })
		switch {
		case !known:
			p.add(file, 1, "header", "unknown column %q; the columns are %s", h, columnNames())
		case cols[name] != 0:
			p.add(file, 1, "header", "column %q appears twice", name)
		default:
			cols[name] = i + 1 // 0 means absent
		}
	}
	for _, c := range importColumns {
		if c.required && cols[c.name] == 0 {
			p.add(file, 1, "header", "missing column %q; required are handle, display_name and email", c.name)
		}
	}

	var (
		people   []importPerson
		byHandle = map[string]int{}
		byEmail  = map[string]int{}
		byID     = map[string]int{}
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			csvProblem(p, err)
			break // after broken quoting, the following lines cannot be trusted
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue // spreadsheets export empty rows as ",,,"
		}
		if len(rec) != len(header) {
			p.add(file, line, "row", "has %d fields, the header has %d", len(rec), len(header))
			continue
		}
		before := p.total
		bad := func(field, format string, args ...any) { p.add(file, line, field, format, args...) }
		// get is the trimmed value of a column; ok is false when the column is
		// absent or its text was already reported as unusable.
		get := func(col string) (v string, ok bool) {
			i := cols[col]
			if i == 0 {
				return "", false
			}
			v = strings.TrimSpace(rec[i-1])
			if reason := textProblem(v); reason != "" {
				bad(col, "%s", reason)
				return "", false
			}
			return v, true
		}
		value := func(col string) string { v, _ := get(col); return v }
		person := importPerson{line: line}

		h, ok := get("handle")
		person.handle = strings.ToLower(strings.TrimPrefix(h, "@"))
		switch {
		case !ok:
		case person.handle == "":
			bad("handle", "is required")
		case !ValidHandle(person.handle):
			bad("handle", "%q is not a handle: use 2–32 lower-case letters, digits, '-' or '_', starting with a letter or digit", person.handle)
		}

		person.displayName, ok = get("display_name")
		switch n := utf8.RuneCountInString(person.displayName); {
		case !ok:
		case n == 0:
			bad("display_name", "is required")
		case n > maxNameLen:
			bad("display_name", "is %d characters long; at most %d are allowed", n, maxNameLen)
		}

		e, ok := get("email")
		person.email = strings.ToLower(e)
		switch {
		case !ok:
		case person.email == "":
			bad("email", "is required: imported people are invited to sign in by e-mail")
		case !validEmail(person.email):
			bad("email", "%q is not an e-mail address (name@example.org, ASCII only)", person.email)
		}

		person.externalID = value("id")
		if n := utf8.RuneCountInString(person.externalID); n > maxExternalID {
			bad("id", "is %d characters long; at most %d are allowed", n, maxExternalID)
		} else if strings.ContainsFunc(person.externalID, func(r rune) bool { return unicode.IsSpace(r) || r == '#' }) {
			bad("id", "%q contains a space or '#', which the edges file could not tell apart", person.externalID)
		}

		person.title = value("title")
		if n := utf8.RuneCountInString(person.title); n > maxNameLen {
			bad("title", "is %d characters long; at most %d are allowed", n, maxNameLen)
		}
		person.location = value("location")
		if n := utf8.RuneCountInString(person.location); n > maxNameLen {
			bad("location", "is %d characters long; at most %d are allowed", n, maxNameLen)
		}

		person.skills = []string{}
		for _, s := range strings.FieldsFunc(value("skills"), func(r rune) bool { return r == ';' || r == '|' }) {
			s = strings.ToLower(strings.TrimSpace(s))
			switch n := utf8.RuneCountInString(s); {
			case n == 0 || slices.Contains(person.skills, s):
				continue
			case n > maxSkillLen:
				bad("skills", "skill %q is %d characters long; at most %d are allowed", s, n, maxSkillLen)
			}
			person.skills = append(person.skills, s)
		}
		if len(person.skills) > maxSkills {
			bad("skills", "has %d skills; at most %d are allowed", len(person.skills), maxSkills)
		}

		var slugs []string
		for _, c := range strings.Split(value("community"), ";") {
			c = strings.TrimSpace(c)
			if c == "" {
				continue
			}
			slug := Slugify(c)
			switch n := utf8.RuneCountInString(c); {
			case n > maxNameLen:
				bad("community", "community name %q is %d characters long; at most %d are allowed", c, n, maxNameLen)
				continue
			case !slugRe.MatchString(slug):
				bad("community", "community %q needs at least two letters or digits (a–z, 0–9) to make its address", c)
				continue
			case slices.Contains(slugs, slug):
				continue
			}
			slugs = append(slugs, slug)
			person.communities = append(person.communities, c)
		}

		// Duplicates inside the file: the later row is the one reported.
		dup := func(seen map[string]int, field, value string) {
			if value == "" {
				return
			}
			if first, ok := seen[value]; ok {
				bad(field, "%q is also on line %d", value, first)
				return
			}
			seen[value] = line
		}
		if ValidHandle(person.handle) {
			dup(byHandle, "handle", person.handle)
		}
		if validEmail(person.email) {
			dup(byEmail, "email", person.email)
		}
		dup(byID, "id", person.externalID)

		person.bad = p.total > before
		people = append(people, person)
	}
	return people
}

func csvProblem(p *problems, err error) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		p.add(ImportFileNodes, pe.StartLine, "csv", "the file is not valid CSV (%v): a field with quotes, commas or line breaks must be in double quotes, with inner quotes doubled; nothing after this line was checked", pe.Err)
		return
	}
	p.add(ImportFileNodes, 1, "csv", "the file cannot be read: %v", err)
}

func blankRecord(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// textProblem says why s cannot be stored as text, or "" when it can:
// PostgreSQL refuses invalid UTF-8 and NUL, and control characters have no place
// in a name.
func textProblem(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8 text (save the file as UTF-8)"
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return "contains a control character such as a tab or line break"
	}
	return ""
}

// validEmail is signup's rule (validateEmail) restricted to ASCII, where
// PostgreSQL's lower() and Go's agree, so the nodes.email check cannot fail.
func validEmail(e string) bool {
	for i := 0; i < len(e); i++ {
		if e[i] >= utf8.RuneSelf || e[i] <= ' ' {
			return false
		}
	}
	return validateEmail("email", e) == nil
}

// parseEdges reads the edges file: one pair per line, blank lines and '#'
// comments ignored.
func parseEdges(r io.Reader, p *problems) []importTie {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEdgeLine)
	var ties []importTie
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		// Names are looked up in PostgreSQL, which refuses invalid UTF-8 and NUL.
		if !utf8.ValidString(text) || strings.ContainsFunc(text, func(r rune) bool { return unicode.IsControl(r) && !unicode.IsSpace(r) }) {
			p.add(ImportFileEdges, line, "pair", "is not plain UTF-8 text (save the file as UTF-8)")
			continue
		}
		f := strings.Fields(text)
		switch len(f) {
		case 0:
		case 2:
			ties = append(ties, importTie{line: line, from: f[0], to: f[1]})
		default:
			p.add(ImportFileEdges, line, "pair", "has %d values; each line must name two people (handles or ids) separated by spaces", len(f))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			p.add(ImportFileEdges, line+1, "pair", "the line is longer than %d KiB; nothing after it was checked", maxEdgeLine>>10)
		} else {
			p.add(ImportFileEdges, line+1, "pair", "the file cannot be read: %v", err)
		}
	}
	return ties
}

// personRef names a person during an import: a row of the people file (-1 -
// index) before it has an id, or an existing node's id.
type personRef int64

func fileRef(i int) personRef { return personRef(-1 - i) }

// Import adds the people, communities and ties of in to the network in one
// transaction. Every row is checked first, against the file and against the
// people already in the network; if any is bad, nothing is written and the error
// is an *ImportErrors listing them by line. Imported people have no password:
// they sign in once a steward invites them.
func (s *Store) Import(ctx context.Context, in ImportInput) (ImportReport, error) {
	start := time.Now()
	var rep ImportReport
	if in.Nodes == nil {
		return rep, invalid("nodes", "a people file is required")
	}
	var p problems
	people := parsePeople(in.Nodes, &p)
	var ties []importTie
	if in.Edges != nil {
		ties = parseEdges(in.Edges, &p)
	}
	var pending []Event
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		pending = nil
		// One import at a time: the checks below then hold until commit, except
		// against a signup racing in, which the unique constraints catch.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('nodecommunity.import'))`); err != nil {
			return err
		}
		if in.IfEmpty {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nodes)`).Scan(&exists); err != nil {
				return err
			}
			if exists {
				rep.Skipped = true
				return nil
			}
		}
		if err := checkExisting(ctx, tx, people, &p); err != nil {
			return err
		}
		refs, err := resolveTies(ctx, tx, people, ties, &p)
		if err != nil {
			return err
		}
		if err := p.err(); err != nil {
			return err
		}
		rep, err = writeImport(ctx, tx, people, ties, refs)
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, &pending, "nc.evt.network.imported", "network.imported", map[string]int{
			"people": rep.People, "communities": rep.Communities, "connections": rep.Connections,
		}, true, nil)
	})
	rep.Elapsed = time.Since(start)
	if err != nil {
		var ie *ImportErrors
		if errors.As(err, &ie) {
			return ImportReport{Elapsed: rep.Elapsed}, ie
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" {
			return ImportReport{Elapsed: rep.Elapsed}, importConflict(pe)
		}
		return ImportReport{Elapsed: rep.Elapsed}, fmt.Errorf("import: %w", err)
	}
	s.publish(ctx, pending)
	return rep, nil
}

// importConflict explains a unique violation: someone signed up with the same
// handle or e-mail between the checks and the write.
func importConflict(pe *pgconn.PgError) error {
	field := "handle"
	switch {
	case strings.Contains(pe.ConstraintName, "email"):
		field = "email"
	case strings.Contains(pe.ConstraintName, "external_id"):
		field = "id"
	case strings.Contains(pe.ConstraintName, "slug"):
		field = "community"
	}
	return Conflict(field, "Someone with the same "+field+" joined while the import ran; nothing was imported. Run it again to see which row.")
}

const importExisting = `
SELECT handle, coalesce(email, ''), coalesce(external_id, '') FROM nodes
WHERE handle = ANY($1) OR email = ANY($2) OR external_id = ANY($3)`

// checkExisting reports rows whose handle, e-mail or id someone in the network has.
func checkExisting(ctx context.Context, tx pgx.Tx, people []importPerson, p *problems) error {
	if len(people) == 0 {
		return nil
	}
	var handles, emails, ids []string
	for _, r := range people {
		handles = append(handles, r.handle)
		emails = append(emails, r.email)
		if r.externalID != "" {
			ids = append(ids, r.externalID)
		}
	}
	rows, err := tx.Query(ctx, importExisting, handles, emails, ids)
	if err != nil {
		return err
	}
	taken := map[[2]string]bool{}
	var h, e, id string
	_, err = pgx.ForEachRow(rows, []any{&h, &e, &id}, func() error {
		taken[[2]string{"handle", h}] = true
		taken[[2]string{"email", e}] = true
		taken[[2]string{"id", id}] = true
		return nil
	})
	if err != nil {
		return err
	}
	for i := range people {
		r := &people[i]
		for _, f := range [][2]string{{"handle", r.handle}, {"email", r.email}, {"id", r.externalID}} {
			if f[1] != "" && taken[f] {
				p.add(ImportFileNodes, r.line, f[0], "%q belongs to someone already in the network", f[1])
				r.bad = true
			}
		}
	}
	return nil
}

const importTokens = `SELECT id, handle, coalesce(external_id, '') FROM nodes WHERE handle = ANY($1) OR external_id = ANY($2)`

// resolveTies finds the person each side of each tie names: an id or handle of
// the people file, or an existing node's external id or handle. A name that fits
// two different people is reported rather than guessed.
func resolveTies(ctx context.Context, tx pgx.Tx, people []importPerson, ties []importTie, p *problems) (map[string]personRef, error) {
	if len(ties) == 0 {
		return nil, nil
	}
	cands := map[string][]personRef{}
	addCand := func(token string, ref personRef) {
		if !slices.Contains(cands[token], ref) {
			cands[token] = append(cands[token], ref)
		}
	}
	byID, byHandle := map[string]int{}, map[string]int{}
	for i, r := range people {
		if r.externalID != "" {
			if _, ok := byID[r.externalID]; !ok {
				byID[r.externalID] = i
			}
		}
		if r.handle != "" {
			if _, ok := byHandle[r.handle]; !ok {
				byHandle[r.handle] = i
			}
		}
	}
	tokens := map[string]bool{}
	for _, t := range ties {
		tokens[t.from], tokens[t.to] = true, true
	}
	var raw, lower []string
	for t := range tokens {
		raw = append(raw, t)
		lower = append(lower, strings.ToLower(t))
		if i, ok := byID[t]; ok {
			addCand(t, fileRef(i))
		}
		if i, ok := byHandle[strings.ToLower(strings.TrimPrefix(t, "@"))]; ok {
			addCand(t, fileRef(i))
		}
	}
	rows, err := tx.Query(ctx, importTokens, lower, raw)
	if err != nil {
		return nil, err
	}
	var (
		id        int64
		h, extID  string
		byNodeHdl = map[string]int64{}
		byNodeExt = map[string]int64{}
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &h, &extID}, func() error {
		byNodeHdl[h] = id
		if extID != "" {
			byNodeExt[extID] = id
		}
		return nil
	}); err != nil {
		return nil, err
	}
	refs := make(map[string]personRef, len(tokens))
	for t := range tokens {
		if id, ok := byNodeExt[t]; ok {
			addCand(t, personRef(id))
		}
		if id, ok := byNodeHdl[strings.ToLower(strings.TrimPrefix(t, "@"))]; ok {
			addCand(t, personRef(id))
		}
		if c := cands[t]; len(c) == 1 {
			refs[t] = c[0]
		}
	}
	for _, t := range ties {
		for _, side := range []struct{ field, token string }{{"from", t.from}, {"to", t.to}} {
			switch len(cands[side.token]) {
			case 0:
				p.add(ImportFileEdges, t.line, side.field, "no one in the people file or the network has the handle or id %q", side.token)
			case 1:
			default:
				// A bad row among them (its id or handle is taken) is reported already.
				if slices.ContainsFunc(cands[side.token], func(r personRef) bool { return r < 0 && people[-1-int(r)].bad }) {
					continue
				}
				p.add(ImportFileEdges, t.line, side.field, "%q is the id of one person and the handle of another; change one of them", side.token)
			}
		}
	}
	return refs, nil
}

// writeImport writes validated rows: people by COPY, missing communities,
// memberships by COPY, and ties merged into one undirected connection per pair
// through a temporary table, so pairs already connected are left alone.
func writeImport(ctx context.Context, tx pgx.Tx, people []importPerson, ties []importTie, refs map[string]personRef) (ImportReport, error) {
	var rep ImportReport
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"nodes"},
		[]string{"handle", "display_name", "email", "title", "location", "skills", "external_id"},
		pgx.CopyFromSlice(len(people), func(i int) ([]any, error) {
			r := people[i]
			var ext any
			if r.externalID != "" {
				ext = r.externalID
			}
			return []any{r.handle, r.displayName, r.email, r.title, r.location, r.skills, ext}, nil
		}))
	if err != nil {
		return rep, fmt.Errorf("copy people: %w", err)
	}
	rep.People = int(n)

	// The ids the rows got, by handle.
	ids := make([]int64, len(people))
	if len(people) > 0 {
		handles := make([]string, len(people))
		for i, r := range people {
			handles[i] = r.handle
		}
		rows, err := tx.Query(ctx, `SELECT handle, id FROM nodes WHERE handle = ANY($1)`, handles)
		if err != nil {
			return rep, err
		}
		idOf := map[string]int64{}
		var h string
		var id int64
		if _, err := pgx.ForEachRow(rows, []any{&h, &id}, func() error { idOf[h] = id; return nil }); err != nil {
			return rep, err
		}
		for i, r := range people {
			ids[i] = idOf[r.handle]
		}
	}

	if err := writeCommunities(ctx, tx, people, ids, &rep); err != nil {
		return rep, err
	}

	// Ties: self-loops skipped, directions and repeats merged to one pair with
	// the lower node id first, as the connections table is read both ways.
	nodeID := func(r personRef) int64 {
		if r < 0 {
			return ids[-1-int(r)]
		}
		return int64(r)
	}
	rep.TiesRead = len(ties)
	pairs := make(map[[2]int64]struct{}, len(ties))
	ordered := make([][2]int64, 0, len(ties))
	for _, t := range ties {
		a, b := nodeID(refs[t.from]), nodeID(refs[t.to])
		if a == b {
			rep.SelfLoops++
			continue
		}
		if a > b {
			a, b = b, a
		}
		k := [2]int64{a, b}
		if _, ok := pairs[k]; ok {
			rep.Merged++
			continue
		}
		pairs[k] = struct{}{}
		ordered = append(ordered, k)
	}
	if len(ordered) == 0 {
		return rep, nil
	}
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_ties (a bigint NOT NULL, b bigint NOT NULL) ON COMMIT DROP`); err != nil {
		return rep, err
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_ties"}, []string{"a", "b"},
		pgx.CopyFromSlice(len(ordered), func(i int) ([]any, error) { return []any{ordered[i][0], ordered[i][1]}, nil })); err != nil {
		return rep, fmt.Errorf("copy ties: %w", err)
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO connections (from_node, to_node, kind, state, accepted_at)
		SELECT t.a, t.b, 'collaborate', 'accepted', now() FROM import_ties t
		WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.from_node = t.a AND c.to_node = t.b)
		  AND NOT EXISTS (SELECT 1 FROM connections c WHERE c.from_node = t.b AND c.to_node = t.a)`)
	if err != nil {
		return rep, fmt.Errorf("connections: %w", err)
	}
	rep.Connections = int(tag.RowsAffected())
	rep.AlreadyConnected = len(ordered) - rep.Connections
	return rep, nil
}

const importCommunities = `
SELECT id, slug, lower(name) FROM communities WHERE slug = ANY($1) OR lower(name) = ANY($2)`

// writeCommunities finds or creates each community the rows name and adds the
// people as members. A value names an existing community by slug, then by name
// (any case), then by the slug derived from it; the rest are created, open, one
// per derived slug, named as first spelled.
func writeCommunities(ctx context.Context, tx pgx.Tx, people []importPerson, ids []int64, rep *ImportReport) error {
	var values []string
	seen := map[string]bool{}
	for _, r := range people {
		for _, c := range r.communities {
			if !seen[c] {
				seen[c] = true
				values = append(values, c)
			}
		}
	}
	if len(values) == 0 {
		return nil
	}
	var slugs, lowers []string
	for _, v := range values {
		slugs = append(slugs, strings.ToLower(v), Slugify(v))
		lowers = append(lowers, strings.ToLower(v))
	}
	rows, err := tx.Query(ctx, importCommunities, slugs, lowers)
	if err != nil {
		return err
	}
	bySlug, byName := map[string]int64{}, map[string]int64{}
	var (
		id         int64
		slug, name string
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &slug, &name}, func() error {
		bySlug[slug] = id
		if _, ok := byName[name]; !ok {
			byName[name] = id
		}
		return nil
	}); err != nil {
		return err
	}

	community := map[string]int64{} // value → id, for existing ones
	var newSlugs, newNames []string
	for _, v := range values {
		l := strings.ToLower(v)
		if id, ok := bySlug[l]; ok {
			community[v] = id
		} else if id, ok := byName[l]; ok {
			community[v] = id
		} else if id, ok := bySlug[Slugify(v)]; ok {
			community[v] = id
		} else if s := Slugify(v); !slices.Contains(newSlugs, s) {
			newSlugs = append(newSlugs, s)
			newNames = append(newNames, v)
		}
	}
	if len(newSlugs) > 0 {
		rows, err := tx.Query(ctx, `
			INSERT INTO communities (slug, name) SELECT * FROM unnest($1::text[], $2::text[])
			RETURNING id, slug`, newSlugs, newNames)
		if err != nil {
			return fmt.Errorf("create communities: %w", err)
		}
		tag, err := pgx.ForEachRow(rows, []any{&id, &slug}, func() error { bySlug[slug] = id; return nil })
		if err != nil {
			return fmt.Errorf("create communities: %w", err)
		}
		rep.Communities = int(tag.RowsAffected())
		// Starting a community records its first purpose; imported ones start empty.
		if _, err := tx.Exec(ctx, `
			INSERT INTO community_purpose_history (community_id, purpose)
			SELECT id, purpose FROM communities WHERE slug = ANY($1)`, newSlugs); err != nil {
			return fmt.Errorf("create communities: %w", err)
		}
	}
	var members [][]any
	for i, r := range people {
		var joined []int64
		for _, v := range r.communities {
			cid, ok := community[v]
			if !ok {
				cid = bySlug[Slugify(v)]
			}
			if !slices.Contains(joined, cid) {
				joined = append(joined, cid)
				members = append(members, []any{cid, ids[i]})
			}
		}
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"community_members"}, []string{"community_id", "node_id"}, pgx.CopyFromRows(members))
	if err != nil {
		return fmt.Errorf("copy memberships: %w", err)
	}
	rep.Memberships = int(n)
	return nil
}
