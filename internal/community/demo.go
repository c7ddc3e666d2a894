package community

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/nodecommunity/nodecommunity/internal/sharetext"
)

// DemoPeople is how many people SeedDemo creates.
const DemoPeople = 30

// DemoPassword signs in every demo person (e.g. ana-…@demo.nodecommunity.test);
// printed by `make run`. Demo data only: never seeded unless SEED_DEMO is set.
const DemoPassword = "demo network 2026"

// DemoSignIn is the demo person the start-up message suggests signing in as.
type DemoSignIn struct{ Email, Password string }

var (
	demoFirst = []string{"Ana", "Ben", "Chiara", "Dmitri", "Esi", "Farid", "Greta", "Hiro", "Ines", "Jonas",
		"Kemal", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quentin", "Rosa", "Sven", "Tariq",
		"Uma", "Vikram", "Wanjiru", "Xavier", "Yara", "Zofia", "Amara", "Bruno", "Carmen", "Dev"}
	demoLast = []string{"Almeida", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Gomez", "Haddad",
		"Ito", "Jensen", "Kowalski", "Laine", "Moreau", "Nakamura", "Okafor", "Petrov"}
	demoSkills = []string{"go", "postgres", "design", "research", "writing", "data", "ux", "hiring",
		"finance", "security", "kubernetes", "facilitation", "statistics", "marketing", "support"}
	demoTitles = []string{"Engineer", "Designer", "Researcher", "Analyst", "Writer", "Recruiter",
		"Product lead", "Support specialist", "Data scientist", "Security engineer"}
	demoPlaces      = []string{"Lisbon", "Berlin", "Nairobi", "Osaka", "Toronto", "Remote"}
	demoCommunities = []struct{ slug, name, purpose string }{
		{"platform", "Platform guild", "Keep the shared infrastructure healthy and easy to use."},
		{"research-circle", "Research circle", "Share findings early and test ideas against each other."},
		{"onboarding", "Onboarding buddies", "Help new people find who knows what."},
		{"data-practice", "Data practice", "Metrics, experiments and honest dashboards."},
		{"climate", "Climate action", "Cut the footprint of how we work and travel."},
	}
	demoKinds = []string{"collaborate", "advice", "mentor", "social"}
)

// SeedDemo fills an empty database with a small demo organisation, generated from
// a fixed seed so every run looks the same. It does nothing (and reports false)
// when anyone exists already; concurrent callers are serialised by an advisory lock.
func (s *Store) SeedDemo(ctx context.Context) (bool, error) {
	seeded := false
	// One hash for all demo people: argon2 costs ~40 ms and 46 MiB each.
	hash, err := HashPassword(ctx, DemoPassword)
	if err != nil {
		return false, fmt.Errorf("seed demo: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('nodecommunity.seed_demo'))`); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM nodes`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := seedDemo(ctx, tx, hash); err != nil {
			return err
		}
		seeded = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("seed demo: %w", err)
	}
	return seeded, nil
}

func seedDemo(ctx context.Context, tx pgx.Tx, passwordHash string) error {
	rng := rand.New(rand.NewPCG(2026, 11))
	ids := make([]int64, DemoPeople)
	for i := range ids {
		first, last := demoFirst[i], demoLast[rng.IntN(len(demoLast))]
		handle := strings.ToLower(first + "-" + last[:1])
		skills := pick(rng, demoSkills, 2+rng.IntN(3))
		err := tx.QueryRow(ctx, `
			INSERT INTO nodes (handle, display_name, email, title, location, skills, password_hash, steward)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
			handle, first+" "+last, handle+"@demo.nodecommunity.test",
			demoTitles[rng.IntN(len(demoTitles))], demoPlaces[rng.IntN(len(demoPlaces))], skills, passwordHash, i == 0,
		).Scan(&ids[i])
		if err != nil {
			return err
		}
	}
	for ci, c := range demoCommunities {
		var cid int64
		creator := ids[ci*5]
		if err := tx.QueryRow(ctx, `
			INSERT INTO communities (slug, name, purpose, created_by) VALUES ($1, $2, $3, $4) RETURNING id`,
			c.slug, c.name, c.purpose, creator).Scan(&cid); err != nil {
			return err
		}
		// Each community draws mostly from one group of people, with a few from elsewhere,
		// the way real communities overlap.
		for i, id := range ids {
			home := i/6 == ci
			if home || rng.Float64() < 0.12 {
				if _, err := tx.Exec(ctx, `INSERT INTO community_members (community_id, node_id) VALUES ($1, $2)`, cid, id); err != nil {
					return err
				}
			}
		}
	}
	if err := seedDemoShares(ctx, tx, ids); err != nil {
		return err
	}
	seen := map[[2]int]bool{}
	for len(seen) < DemoPeople*2 {
		a := rng.IntN(DemoPeople)
		b := rng.IntN(DemoPeople)
		if rng.Float64() < 0.7 { // most ties stay near home
			b = (a/6)*6 + rng.IntN(6)
			if b >= DemoPeople {
				b = rng.IntN(DemoPeople)
			}
		}
		if a == b || seen[[2]int{a, b}] || seen[[2]int{b, a}] {
			continue
		}
		seen[[2]int{a, b}] = true
		if _, err := tx.Exec(ctx, `
			INSERT INTO connections (from_node, to_node, kind, state, accepted_at) VALUES ($1, $2, $3, 'accepted', now())`,
			ids[a], ids[b], demoKinds[rng.IntN(len(demoKinds))]); err != nil {
			return err
		}
	}
	return nil
}

func pick(rng *rand.Rand, from []string, n int) []string {
	idx := rng.Perm(len(from))[:n]
	out := make([]string, n)
	for i, j := range idx {
		out[i] = from[j]
	}
	return out
}

// demoShares are a few things the demo organisation has been sharing.
var demoShares = []struct {
	author    int
	community string // slug, or "" for everyone
	body      string
}{
	{0, "platform", "The staging cluster moves to the new region on Thursday. #infra If your service pins an IP, tell me."},
	{6, "research-circle", "Draft of the survey on remote onboarding is ready for comments: https://example.org/survey-draft #research"},
	{12, "onboarding", "New here? The people directory lists who offers what. Search by skill, e.g. #postgres or #ux."},
	{18, "data-practice", "Reminder: dashboards show medians, not means. Our latency figures were skewed by three outliers. #data"},
	{24, "climate", "Train instead of plane for the Berlin offsite saves about 180 kg CO2 per person. Who is in? #travel"},
	{3, "", "Friday demo: the new peer feedback flow. Everyone welcome, bring questions."},
}

func seedDemoShares(ctx context.Context, tx pgx.Tx, ids []int64) error {
	for _, d := range demoShares {
		audience, slug := AudienceEveryone, d.community
		if slug != "" {
			audience = AudienceCommunity
		}
		var cid *int64
		if slug != "" {
			var id int64
			if err := tx.QueryRow(ctx, `SELECT id FROM communities WHERE slug = $1`, slug).Scan(&id); err != nil {
				return err
			}
			cid = &id
		}
		p := sharetext.Parse(d.body)
		if _, err := tx.Exec(ctx, `INSERT INTO shares (author_id, audience, community_id, body, tags) VALUES ($1, $2, $3, $4, $5)`,
			ids[d.author], audience, cid, d.body, nonNil(p.Tags)); err != nil {
			return err
		}
	}
	return nil
}

// DemoAccount is the demo person to sign in as, when the demo organisation is
// in the database (ErrNotFound otherwise).
func (s *Store) DemoAccount(ctx context.Context) (DemoSignIn, error) {
	var email string
	err := s.pool.QueryRow(ctx, `SELECT email FROM nodes WHERE email LIKE '%@demo.nodecommunity.test' AND password_hash IS NOT NULL ORDER BY id LIMIT 1`).Scan(&email)
	if errors.Is(err, pgx.ErrNoRows) {
		return DemoSignIn{}, ErrNotFound
	}
	if err != nil {
		return DemoSignIn{}, fmt.Errorf("demo account: %w", err)
	}
	return DemoSignIn{Email: email, Password: DemoPassword}, nil
}
