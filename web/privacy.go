package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/web/components"
)

// Privacy: a person's own data. /settings/data explains what is stored and
// for how long, offers the download (/settings/data/export, or
// /api/v1/me/export for API clients: the same JSON file), and lists the
// people analysts' audited views of the person's named analytics.

// ActionExportPersonalData is the audit log's name for a personal data download.
const ActionExportPersonalData = "export_personal_data"

// privacyViewsShown is how many views of each kind the page lists.
const privacyViewsShown = 50

func (s *Server) mountPrivacy(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(s.requireNode)
		r.Get("/settings/data", s.privacyPage)
		r.Get("/settings/data/export", s.exportPersonalData)
		r.Get("/api/v1/me/export", s.exportPersonalData)
	})
}

func (s *Server) privacyPage(w http.ResponseWriter, r *http.Request) {
	ctx, n := r.Context(), me(r)
	v := components.PrivacyView{Page: s.page("Your data", "profile"), Now: time.Now(), Handle: n.Handle, MinGroupSize: s.minGroup()}
	switch st, err := s.d.Store.LastPurge(ctx); {
	case err == nil:
		v.RetentionDays = max(1, int(math.Round(st.Retention.Hours()/24)))
		v.LastPurge = st.PurgedAt
	case !errors.Is(err, community.ErrNotFound):
		s.failErr(w, r, err)
		return
	}
	views, err := s.d.Store.WhoViewed(ctx, n, privacyViewsShown)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	for _, av := range views.AboutYou {
		v.AboutYou = append(v.AboutYou, analyticsViewRow(n, av, true))
	}
	for _, av := range views.OrgWide {
		v.OrgWide = append(v.OrgWide, analyticsViewRow(n, av, false))
	}
	v.OrgWideTotal = views.OrgWideTotal
	// Names of the people who viewed: not for shared caches.
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, components.PrivacyPage(v))
}

// exportPersonalData answers with the JSON file of everything stored about
// the signed-in node, as an attachment. It is built whole before anything is
// sent, so a failure never leaves half a file.
func (s *Server) exportPersonalData(w http.ResponseWriter, r *http.Request) {
	n := me(r)
	data, err := s.d.Store.ExportPersonalData(r.Context(), n.ID)
	if err != nil {
		s.failErr(w, r, err)
		return
	}
	b, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		s.failErr(w, r, fmt.Errorf("export personal data: %w", err))
		return
	}
	// A download of someone's whole record is worth knowing about should a
	// session ever be stolen; the person sees these rows in their next export.
	s.record(r, ActionExportPersonalData, nil)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="nodecommunity-`+n.Handle+`-`+data.ExportedAt.Format("2006-01-02")+`.json"`)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// analyticsViewRow says in words who did what with which scope. In the
// organisation-wide list, the person an analyst looked up is not shown: that
// is the other person's business.
func analyticsViewRow(viewer community.Node, av community.AnalyticsView, aboutYou bool) components.AnalyticsViewRow {
	var d struct {
		Window    string `json:"window"`
		Kind      string `json:"kind"`
		Community any    `json:"community"`
		Format    string `json:"format"`
		What      string `json:"what"`
	}
	_ = json.Unmarshal(av.Detail, &d) // an odd detail only makes the scope vaguer
	row := components.AnalyticsViewRow{At: av.At}
	switch {
	case av.Actor == viewer.Handle:
		row.Who = "you"
	case av.Actor == "":
		row.Who = "someone whose account is gone"
	default:
		row.Who = av.ActorName + " (@" + av.Actor + ")"
	}
	row.What = analyticsActionText(av.Action, d.What, aboutYou)
	row.Scope = analyticsScopeText(av.Action, d.Window, d.Kind, d.Community)
	return row
}

func analyticsActionText(action, what string, aboutYou bool) string {
	switch action {
	case "view_org_map":
		if aboutYou {
			return "opened the organisation map on you (your side panel)"
		}
		return "opened the organisation map"
	case "view_metrics_table":
		if aboutYou {
			return "searched the metrics table for you"
		}
		return "opened the metrics table"
	case "api_metrics":
		return "downloaded everyone's metrics through the API"
	case "export_graphml":
		return "exported the network as GraphML"
	case "export_gexf":
		return "exported the network as GEXF"
	case "export_csv":
		if what == "edges" {
			return "exported the ties as CSV"
		}
		return "exported everyone's figures as CSV"
	case "view_community_members":
		return "listed the members of a detected community"
	}
	return action
}

func analyticsScopeText(action, window, kind string, comm any) string {
	scope := "last 90 days"
	if window == "all" {
		scope = "all time"
	}
	var c string
	switch x := comm.(type) {
	case float64:
		c = strconv.Itoa(int(x))
	case string:
		c = x
	}
	switch {
	case action == "view_community_members":
		return scope + ", detected community " + c
	case c != "" && c != "all":
		scope += ", detected community " + c + " only"
	default:
		scope += ", everyone"
	}
	if kind != "" && kind != "all" {
		scope += ", " + kind + " connections only"
	}
	return scope
}
