package community

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func acctPtr[T any](v T) *T { return &v }

func TestUpdateProfile(t *testing.T) {
	ctx := context.Background()
	s := acctStore(t)
	ada := acctSignup(t, s, "ada")

	t.Run("new profile is empty", func(t *testing.T) {
		p, err := s.Profile(ctx, ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.Offers == nil || p.Needs == nil || len(p.Offers)+len(p.Needs) != 0 || len(p.Skills) != 0 {
			t.Errorf("got %+v, want empty (non-nil) offers and needs and no skills", p)
		}
	})

	t.Run("fields are normalised", func(t *testing.T) {
		p, err := s.UpdateProfile(ctx, ada.ID, ProfileUpdate{
			DisplayName: acctPtr("  Ada Lovelace "),
			Title:       acctPtr(" Engineer "),
			Skills:      acctPtr([]string{" Go ", "go", "#PostgreSQL", "Data Science", "GO"}),
			Offers: acctPtr([]Offer{
				{Body: "  Code reviews in Go ", Tags: []string{"Go", "#review", "go"}},
				{Body: "Pairing on SQL"},
			}),
			Needs: acctPtr([]Offer{{Body: "Help with design", Tags: []string{"UX"}}}),
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.DisplayName != "Ada Lovelace" || p.Title != "Engineer" {
			t.Errorf("got %q %q, want trimmed values", p.DisplayName, p.Title)
		}
		if want := []string{"go", "postgresql", "data science"}; !slices.Equal(p.Skills, want) {
			t.Errorf("got skills %q, want %q", p.Skills, want)
		}
		if len(p.Offers) != 2 || p.Offers[0].Body != "Code reviews in Go" || !slices.Equal(p.Offers[0].Tags, []string{"go", "review"}) ||
			p.Offers[1].Tags == nil || len(p.Offers[1].Tags) != 0 {
			t.Errorf("got offers %+v, want two with normalised tags", p.Offers)
		}
		if len(p.Needs) != 1 || !slices.Equal(p.Needs[0].Tags, []string{"ux"}) {
			t.Errorf("got needs %+v", p.Needs)
		}
	})

	t.Run("unset fields are kept and offers are replaced", func(t *testing.T) {
		p, err := s.UpdateProfile(ctx, ada.ID, ProfileUpdate{Offers: acctPtr([]Offer{{Body: "Mentoring"}})})
		if err != nil {
			t.Fatal(err)
		}
		if p.DisplayName != "Ada Lovelace" || len(p.Skills) != 3 || len(p.Needs) != 1 {
			t.Errorf("got %+v, want name, skills and needs unchanged", p)
		}
		if len(p.Offers) != 1 || p.Offers[0].Body != "Mentoring" {
			t.Errorf("got offers %+v, want only the new one", p.Offers)
		}
		p, err = s.UpdateProfile(ctx, ada.ID, ProfileUpdate{Needs: acctPtr([]Offer{}), Skills: acctPtr([]string{})})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Needs) != 0 || len(p.Skills) != 0 || len(p.Offers) != 1 {
			t.Errorf("got %+v, want needs and skills cleared and offers kept", p)
		}
	})

	invalidCases := []struct {
		name  string
		u     ProfileUpdate
		field string
	}{
		{"empty display name", ProfileUpdate{DisplayName: acctPtr(" ")}, "display_name"},
		{"long title", ProfileUpdate{Title: acctPtr(strings.Repeat("t", 101))}, "title"},
		{"long location", ProfileUpdate{Location: acctPtr(strings.Repeat("l", 101))}, "location"},
		{"long bio", ProfileUpdate{Bio: acctPtr(strings.Repeat("b", 2001))}, "bio"},
		{"empty skill", ProfileUpdate{Skills: acctPtr([]string{"go", " "})}, "skills"},
		{"long skill", ProfileUpdate{Skills: acctPtr([]string{strings.Repeat("s", 41)})}, "skills"},
		{"too many skills", ProfileUpdate{Skills: acctPtr(acctManyLabels(31))}, "skills"},
		{"empty offer", ProfileUpdate{Offers: acctPtr([]Offer{{Body: "  "}})}, "offers"},
		{"long need", ProfileUpdate{Needs: acctPtr([]Offer{{Body: strings.Repeat("n", 281)}})}, "needs"},
		{"too many offers", ProfileUpdate{Offers: acctPtr(make([]Offer, 11))}, "offers"},
		{"bad tag", ProfileUpdate{Needs: acctPtr([]Offer{{Body: "x", Tags: []string{""}}})}, "needs"},
	}
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.UpdateProfile(ctx, ada.ID, tc.u)
			acctWantField(t, err, tc.field)
		})
	}

	t.Run("nothing half-written", func(t *testing.T) {
		before, _ := s.Profile(ctx, ada.ID)
		_, err := s.UpdateProfile(ctx, ada.ID, ProfileUpdate{Title: acctPtr("Changed"), Needs: acctPtr([]Offer{{Body: ""}})})
		acctWantField(t, err, "needs")
		after, _ := s.Profile(ctx, ada.ID)
		if after.Title != before.Title {
			t.Errorf("got title %q after a failed update, want %q", after.Title, before.Title)
		}
	})
	t.Run("unknown node", func(t *testing.T) {
		if _, err := s.UpdateProfile(ctx, -1, ProfileUpdate{Title: acctPtr("x")}); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
		if _, err := s.Profile(ctx, -1); !errors.Is(err, ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func acctManyLabels(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "skill-" + strings.Repeat("x", i+1)
	}
	return out
}
