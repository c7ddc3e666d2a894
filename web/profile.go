package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// apiMe is the signed-in node's own profile, with its email, offers and needs.
func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	p, err := s.d.Store.Profile(r.Context(), n.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

// apiUpdateMe changes the fields given; offers and needs, when given, replace
// the whole list.
func (s *Server) apiUpdateMe(w http.ResponseWriter, r *http.Request) {
	var u community.ProfileUpdate
	if !s.decodeJSON(w, r, &u) {
		return
	}
	n, _ := currentNode(r)
	p, err := s.d.Store.UpdateProfile(r.Context(), n.ID, u)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, p)
}

func (s *Server) profilePage(w http.ResponseWriter, r *http.Request) {
	n, _ := currentNode(r)
	p, err := s.d.Store.Profile(r.Context(), n.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	v := components.ProfileView{
		Page:        s.page("Your profile", "profile"),
		Handle:      p.Handle,
		DisplayName: p.DisplayName,
		Title:       p.Title,
		Location:    p.Location,
		Bio:         p.Bio,
		Skills:      strings.Join(p.Skills, ", "),
		Offers:      offerLines(p.Offers),
		Needs:       offerLines(p.Needs),
		Saved:       r.URL.Query().Get("saved") == "1",
	}
	s.render(w, r, http.StatusOK, components.ProfilePage(v))
}

func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	n, _ := currentNode(r)
	v := components.ProfileView{
		Page:        s.page("Your profile", "profile"),
		Handle:      n.Handle,
		DisplayName: r.PostFormValue("display_name"),
		Title:       r.PostFormValue("title"),
		Location:    r.PostFormValue("location"),
		Bio:         r.PostFormValue("bio"),
		Skills:      r.PostFormValue("skills"),
		Offers:      r.PostFormValue("offers"),
		Needs:       r.PostFormValue("needs"),
		Errors:      components.FieldErrors{},
	}
	// Only the fields the form sent change: a client posting part of the form
	// does not wipe the rest.
	var u community.ProfileUpdate
	str := func(name string, v *string) *string {
		if _, ok := r.PostForm[name]; ok {
			return v
		}
		return nil
	}
	u.DisplayName, u.Title = str("display_name", &v.DisplayName), str("title", &v.Title)
	u.Location, u.Bio = str("location", &v.Location), str("bio", &v.Bio)
	if _, ok := r.PostForm["skills"]; ok {
		skills := splitSkills(v.Skills)
		u.Skills = &skills
	}
	if _, ok := r.PostForm["offers"]; ok {
		offers := parseOfferLines(v.Offers)
		u.Offers = &offers
	}
	if _, ok := r.PostForm["needs"]; ok {
		needs := parseOfferLines(v.Needs)
		u.Needs = &needs
	}
	_, err := s.d.Store.UpdateProfile(r.Context(), n.ID, u)
	var ve *community.ValidationError
	switch {
	case err == nil:
		http.Redirect(w, r, "/settings/profile?saved=1", http.StatusSeeOther)
	case errors.As(err, &ve):
		v.Errors[ve.Field] = ve.Message
		s.render(w, r, http.StatusUnprocessableEntity, components.ProfilePage(v))
	default:
		s.failErr(w, r, err)
	}
}

// splitSkills reads the comma-separated skills input; blanks (a trailing
// comma) are dropped here, everything else is the store's to judge.
func splitSkills(in string) []string {
	out := []string{}
	for _, s := range strings.Split(in, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// parseOfferLines reads a textarea of offers or needs: one per non-blank line,
// the line as written is the body and its #words are the tags.
func parseOfferLines(in string) []community.Offer {
	out := []community.Offer{}
	for _, line := range strings.Split(in, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		o := community.Offer{Body: line, Tags: []string{}}
		for _, w := range strings.Fields(line) {
			if tag := strings.TrimRight(strings.TrimPrefix(w, "#"), ".,;:!?)]\"'"); strings.HasPrefix(w, "#") && tag != "" {
				o.Tags = append(o.Tags, tag)
			}
		}
		out = append(out, o)
	}
	return out
}

// offerLines is the textarea text of offers: each body, with any tag it does
// not already mention appended as #tag, so the text reads back the same.
func offerLines(offers []community.Offer) string {
	lines := make([]string, 0, len(offers))
	for _, o := range offers {
		line := o.Body
		have := map[string]bool{}
		for _, t := range parseOfferLines(o.Body) {
			for _, tag := range t.Tags {
				have[strings.ToLower(tag)] = true
			}
		}
		for _, tag := range o.Tags {
			if !have[tag] {
				line += " #" + tag
			}
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
