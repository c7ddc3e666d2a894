package community

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// SearchResults are the people, communities and shares matching a query.
type SearchResults struct {
	Query       string      `json:"query"`
	People      []Node      `json:"people"`
	Communities []Community `json:"communities"`
	Shares      []Share     `json:"shares"`
}

// Search looks through people (name, handle, skills, title), the communities
// viewer may see and the shares viewer may read, with PostgreSQL full-text
// search ('simple' configuration: names and tags are not stemmed). "#tag"
// also matches the tag itself.
func (s *Store) Search(ctx context.Context, viewer int64, q string, limit int) (SearchResults, error) {
	q = strings.TrimSpace(strings.ToValidUTF8(q, ""))
	res := SearchResults{Query: q, People: []Node{}, Communities: []Community{}, Shares: []Share{}}
	if q == "" {
		return res, invalid("q", "type something to search for")
	}
	if utf8.RuneCountInString(q) > 200 {
		return res, invalid("q", "keep the search under 200 characters")
	}
	if limit <= 0 || limit > 50 {
		limit = 20
	}
	// websearch_to_tsquery never fails on user input; '#' and '@' are dropped from words.
	words := strings.NewReplacer("#", " ", "@", " ").Replace(q)
	tag := ""
	if strings.HasPrefix(q, "#") && !strings.ContainsAny(q, " \t") {
		tag = strings.ToLower(strings.TrimPrefix(q, "#"))
	}
	rows, err := s.pool.Query(ctx, `SELECT `+nodeColumns+` FROM nodes n
		WHERE n.deactivated_at IS NULL AND (n.search @@ websearch_to_tsquery('simple', $1) OR n.handle = lower($2))
		ORDER BY ts_rank(n.search, websearch_to_tsquery('simple', $1)) DESC, n.display_name LIMIT $3`, words, strings.TrimPrefix(q, "@"), limit)
	if err != nil {
		return res, fmt.Errorf("search people: %w", err)
	}
	people, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Node, error) { return scanNode(r) })
	if err != nil {
		return res, fmt.Errorf("search people: %w", err)
	}
	for i := range people {
		people[i].Email = "" // search results never carry contact details
	}
	res.People = people

	rows, err = s.pool.Query(ctx, `SELECT `+communityColumns+` FROM communities c
		WHERE c.search @@ websearch_to_tsquery('simple', $2)
		AND (c.open OR EXISTS (SELECT 1 FROM community_members m WHERE m.community_id = c.id AND m.node_id = $1))
		ORDER BY ts_rank(c.search, websearch_to_tsquery('simple', $2)) DESC LIMIT $3`, viewer, words, limit)
	if err != nil {
		return res, fmt.Errorf("search communities: %w", err)
	}
	if res.Communities, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Community, error) { return scanCommunity(r) }); err != nil {
		return res, fmt.Errorf("search communities: %w", err)
	}

	rows, err = s.pool.Query(ctx, shareSelect+` WHERE `+visibleTo+`
		AND (s.search @@ websearch_to_tsquery('simple', $2) OR ($4 <> '' AND $4 = ANY(s.tags)))
		ORDER BY ts_rank(s.search, websearch_to_tsquery('simple', $2)) DESC, s.id DESC LIMIT $3`, viewer, words, limit, tag)
	if err != nil {
		return res, fmt.Errorf("search shares: %w", err)
	}
	if res.Shares, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Share, error) { return scanShare(r) }); err != nil {
		return res, fmt.Errorf("search shares: %w", err)
	}
	return res, nil
}

// ListPeople lists active people by handle, after the keyset cursor `after`,
// optionally only those matching q (name, handle, skill or title).
func (s *Store) ListPeople(ctx context.Context, after, q string, limit int) ([]Node, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	q = strings.TrimSpace(strings.ToValidUTF8(q, ""))
	if utf8.RuneCountInString(q) > 200 {
		return nil, invalid("q", "keep the search under 200 characters")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+nodeColumns+` FROM nodes n
		WHERE n.deactivated_at IS NULL AND n.handle > $1
		AND ($2 = '' OR n.search @@ websearch_to_tsquery('simple', $2) OR n.handle LIKE lower($2) || '%')
		ORDER BY n.handle LIMIT $3`, after, strings.NewReplacer("#", " ", "@", "").Replace(q), limit)
	if err != nil {
		return nil, fmt.Errorf("list people: %w", err)
	}
	people, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Node, error) { return scanNode(r) })
	for i := range people {
		people[i].Email = ""
	}
	return people, wrap("list people", err)
}

// ConnectedIDs lists the nodes node has an accepted connection with.
func (s *Store) ConnectedIDs(ctx context.Context, node int64) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT CASE WHEN from_node = $1 THEN to_node ELSE from_node END
		FROM connections WHERE state = 'accepted' AND (from_node = $1 OR to_node = $1)`, node)
	if err != nil {
		return nil, fmt.Errorf("connected ids: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	return ids, wrap("connected ids", err)
}

// NodeRefs names the given nodes (unknown ids are left out), by display name.
func (s *Store) NodeRefs(ctx context.Context, ids []int64) ([]NodeRef, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id, handle, display_name FROM nodes WHERE id = ANY($1) AND deactivated_at IS NULL ORDER BY display_name`, ids)
	if err != nil {
		return nil, fmt.Errorf("node refs: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[NodeRef])
	return out, wrap("node refs", err)
}

// TagTrend is how often a tag was used recently and in the period before.
type TagTrend struct {
	Tag     string `json:"tag"`
	Now     int    `json:"now"`     // shares in [since, now)
	Before  int    `json:"before"`  // shares in the same length of time before since
	Authors int    `json:"authors"` // distinct people who used it in [since, now)
}

// TrendingTags lists the tags most used since `since`, compared with the period
// of the same length before. Only shares everyone may read count (a tag in an
// invite-only community or a connections-only share is that share's content),
// and only tags at least minAuthors different people used, so a tag never
// points at a small group.
func (s *Store) TrendingTags(ctx context.Context, since time.Time, minAuthors, limit int) ([]TagTrend, error) {
	rows, err := s.pool.Query(ctx, `
		WITH public AS (
			SELECT s.author_id, s.created_at, unnest(s.tags) AS tag FROM shares s
			LEFT JOIN communities c ON c.id = s.community_id
			WHERE s.deleted_at IS NULL AND s.created_at >= $1::timestamptz - (now() - $1::timestamptz)
			  AND (s.audience = 'everyone' OR (s.audience = 'community' AND c.open)))
		SELECT tag, count(*) FILTER (WHERE created_at >= $1)::int,
		       count(*) FILTER (WHERE created_at < $1)::int,
		       count(DISTINCT author_id) FILTER (WHERE created_at >= $1)::int
		FROM public GROUP BY tag
		HAVING count(DISTINCT author_id) FILTER (WHERE created_at >= $1) >= $2
		ORDER BY 2 DESC, 2 - 3 DESC, tag LIMIT $3`, since, minAuthors, limit)
	if err != nil {
		return nil, fmt.Errorf("trending tags: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[TagTrend])
	return out, wrap("trending tags", err)
}
