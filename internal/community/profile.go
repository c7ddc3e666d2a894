package community

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Limits of a profile.
const (
	MaxSkills      = 30
	MaxLabelLen    = 40 // characters in one skill or tag
	MaxOffers      = 10 // offers, and needs, each
	MaxOfferLen    = 280
	MaxTitleLen    = 100
	MaxLocationLen = 100
	MaxBioLen      = 2000
)

// Offer is one thing a node can offer, or one it needs: a short text with tags.
type Offer struct {
	Body string   `json:"body"`
	Tags []string `json:"tags"`
}

// Profile is a node with what it offers and what it needs.
type Profile struct {
	Node
	Offers []Offer `json:"offers"`
	Needs  []Offer `json:"needs"`
}

// ProfileUpdate changes the fields that are set; nil leaves one as it is.
// Offers and Needs, when set, replace the whole list.
type ProfileUpdate struct {
	DisplayName *string   `json:"display_name"`
	Title       *string   `json:"title"`
	Location    *string   `json:"location"`
	Bio         *string   `json:"bio"`
	Skills      *[]string `json:"skills"`
	Offers      *[]Offer  `json:"offers"`
	Needs       *[]Offer  `json:"needs"`
}

// normalise trims every set field, lower-cases and de-duplicates skills and
// tags, and validates the result, naming the first wrong field.
func (u *ProfileUpdate) normalise() error {
	trim := func(p *string) {
		if p != nil {
			*p = strings.TrimSpace(*p)
		}
	}
	trim(u.DisplayName)
	trim(u.Title)
	trim(u.Location)
	trim(u.Bio)
	if u.DisplayName != nil {
		if err := validateDisplayName(*u.DisplayName); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"title", u.Title, MaxTitleLen}, {"location", u.Location, MaxLocationLen}, {"bio", u.Bio, MaxBioLen}} {
		if f.v != nil && utf8.RuneCountInString(*f.v) > f.max {
			return invalid(f.name, "Use at most %d characters.", f.max)
		}
	}
	if u.Skills != nil {
		skills, err := profileLabels(*u.Skills)
		if err != nil {
			return invalid("skills", "%s", err)
		}
		*u.Skills = skills
	}
	for _, l := range []struct {
		field, what string
		list        *[]Offer
	}{{"offers", "offer", u.Offers}, {"needs", "need", u.Needs}} {
		if l.list == nil {
			continue
		}
		if len(*l.list) > MaxOffers {
			return invalid(l.field, "List at most %d.", MaxOffers)
		}
		out := make([]Offer, 0, len(*l.list))
		for i, o := range *l.list {
			o.Body = strings.TrimSpace(o.Body)
			if n := utf8.RuneCountInString(o.Body); n < 1 || n > MaxOfferLen {
				return invalid(l.field, "Each %s needs 1–%d characters (%s %d has %d).", l.what, MaxOfferLen, l.what, i+1, n)
			}
			tags, err := profileLabels(o.Tags)
			if err != nil {
				return invalid(l.field, "Tags of %s %d: %s", l.what, i+1, err)
			}
			out = append(out, Offer{Body: o.Body, Tags: tags})
		}
		*l.list = out
	}
	return nil
}

// profileLabels normalises skills or offer tags (see NormaliseLabels): each
// 1–MaxLabelLen characters, at most MaxSkills, blanks refused.
func profileLabels(in []string) ([]string, error) {
	return NormaliseLabels(in, MaxLabelLen, MaxSkills, false)
}

// profileQuerier is what Profile reads with: the pool, or a transaction.
type profileQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Profile returns a node with its offers and needs.
func (s *Store) Profile(ctx context.Context, nodeID int64) (Profile, error) {
	p, err := readProfile(ctx, s.pool, nodeID)
	return p, wrap("profile", err)
}

func readProfile(ctx context.Context, q profileQuerier, nodeID int64) (Profile, error) {
	n, err := scanNode(q.QueryRow(ctx, `SELECT `+nodeColumns+` FROM nodes n WHERE n.id = $1`, nodeID))
	if err != nil {
		return Profile{}, err
	}
	p := Profile{Node: n, Offers: []Offer{}, Needs: []Offer{}}
	rows, err := q.Query(ctx, `SELECT kind, body, tags FROM node_offers WHERE node_id = $1 ORDER BY id`, nodeID)
	if err != nil {
		return p, err
	}
	var (
		kind string
		o    Offer
	)
	_, err = pgx.ForEachRow(rows, []any{&kind, &o.Body, &o.Tags}, func() error {
		if kind == "offer" {
			p.Offers = append(p.Offers, o)
		} else {
			p.Needs = append(p.Needs, o)
		}
		o = Offer{}
		return nil
	})
	return p, err
}

const profileUpdate = `
UPDATE nodes SET
	display_name = coalesce($2, display_name),
	title        = coalesce($3, title),
	location     = coalesce($4, location),
	bio          = coalesce($5, bio),
	skills       = coalesce($6::text[], skills)
WHERE id = $1`

// UpdateProfile applies u in one transaction and returns the profile as saved.
func (s *Store) UpdateProfile(ctx context.Context, nodeID int64, u ProfileUpdate) (Profile, error) {
	if err := u.normalise(); err != nil {
		return Profile{}, err
	}
	var p Profile
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var skills any // an untyped nil, so that "no change" is NULL, not '{}'
		if u.Skills != nil {
			skills = *u.Skills
		}
		tag, err := tx.Exec(ctx, profileUpdate, nodeID, u.DisplayName, u.Title, u.Location, u.Bio, skills)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		for kind, list := range map[string]*[]Offer{"offer": u.Offers, "need": u.Needs} {
			if list == nil {
				continue
			}
			if _, err := tx.Exec(ctx, `DELETE FROM node_offers WHERE node_id = $1 AND kind = $2`, nodeID, kind); err != nil {
				return err
			}
			for _, o := range *list {
				if _, err := tx.Exec(ctx, `INSERT INTO node_offers (node_id, kind, body, tags) VALUES ($1, $2, $3, $4)`,
					nodeID, kind, o.Body, o.Tags); err != nil {
					return err
				}
			}
		}
		p, err = readProfile(ctx, tx, nodeID)
		return err
	})
	if err != nil {
		return Profile{}, wrap("update profile", err)
	}
	s.changedCredentials(nodeID)
	return p, nil
}

// NormaliseLabels is the one rule for skills, tags and kudos values, so they
// can match each other: trimmed, lower-case, without a leading '#',
// de-duplicated in first-seen order, each 1–maxLen characters without a comma
// or control character, at most maxCount. Blank entries are dropped when
// dropBlank (a form's "care, , rigour"), an error otherwise. The error is plain
// text for the caller to attach to its own field.
func NormaliseLabels(in []string, maxLen, maxCount int, dropBlank bool) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "#")))
		if s == "" && dropBlank {
			continue
		}
		if n := utf8.RuneCountInString(s); n < 1 || n > maxLen {
			return nil, fmt.Errorf("each needs 1–%d characters (%q has %d)", maxLen, s, n)
		}
		if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == ',' }) >= 0 {
			return nil, fmt.Errorf("%q has a comma or a control character", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > maxCount {
		return nil, fmt.Errorf("list at most %d (there are %d)", maxCount, len(out))
	}
	return out, nil
}
