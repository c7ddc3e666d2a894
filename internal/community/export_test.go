package community

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestExportPersonalDataSections(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	ana, ben := connTestNode(t, pool, "ana"), connTestNode(t, pool, "ben")
	connTestAccepted(t, pool, ana, ben, KindAdvice)
	// Snapshots: one naming ana, and one of an empty network (people: null).
	if _, err := pool.Exec(ctx, `INSERT INTO graph_snapshots (window_days, kind, week, summary, nodes, communities) VALUES
		(90, 'current', NULL, '{}', jsonb_build_array(jsonb_build_object('node_id', $1::bigint, 'degree', 1)), '[]'),
		(0, 'current', NULL, '{}', 'null', 'null')`, ana); err != nil {
		t.Fatal(err)
	}

	t.Run("every section is valid JSON", func(t *testing.T) {
		p, err := s.ExportPersonalData(ctx, ana)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if !strings.Contains(string(b), `"format":"`+PersonalDataFormat+`"`) || len(p.Connections) != 1 {
			t.Errorf("export = %s", b)
		}
		var analytics []struct {
			WindowDays int `json:"window_days"`
			Figures    struct {
				Degree int `json:"degree"`
			} `json:"figures"`
		}
		if err := json.Unmarshal(p.Analytics, &analytics); err != nil || len(analytics) != 1 || analytics[0].Figures.Degree != 1 {
			t.Errorf("analytics = %s (%v), want ana's one row", p.Analytics, err)
		}
	})

	t.Run("unknown node", func(t *testing.T) {
		if _, err := s.ExportPersonalData(ctx, 1<<40); !errors.Is(err, ErrNotFound) {
			t.Errorf("export of nobody = %v, want ErrNotFound", err)
		}
	})
}

func TestExportWhoViewed(t *testing.T) {
	ctx := context.Background()
	s, pool := connTestStore(t)
	analyst, cleo := connTestNode(t, pool, "ana"), connTestNode(t, pool, "cleo")
	if _, err := pool.Exec(ctx, `UPDATE nodes SET display_name = 'Cleo Marsh' WHERE id = $1`, cleo); err != nil {
		t.Fatal(err)
	}
	audit := func(action, detail string) {
		t.Helper()
		if _, err := pool.Exec(ctx, `INSERT INTO audit_log (actor_id, action, detail) VALUES ($1, $2, $3)`, analyst, action, detail); err != nil {
			t.Fatal(err)
		}
	}
	audit("view_org_map", `{"window": "90d", "person": "cleo"}`)            // about cleo: handle
	audit("view_org_map", `{"window": "90d", "focus": "@Cleo"}`)            // about cleo: @handle, any case
	audit("view_metrics_table", `{"window": "all", "focus": "cleo marsh"}`) // about cleo: full name
	audit("view_org_map", `{"window": "90d", "focus": "Marsh"}`)            // part of a name: org-wide only
	audit("view_org_map", `{"window": "90d", "person": "ana"}`)             // someone else
	audit("export_csv", `{"window": "90d", "what": "edges"}`)
	audit("view_community_members", `{"window": "90d", "community": 2}`)
	audit("signin", `{"account": "x"}`)                 // not analytics
	audit("grant_people_analyst", `{"handle": "cleo"}`) // not a view

	n, err := s.FindNodeByID(ctx, cleo)
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.WhoViewed(ctx, n, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.AboutYou) != 3 {
		t.Errorf("views about cleo = %d, want 3 (handle, @handle, full name): %+v", len(v.AboutYou), v.AboutYou)
	}
	for _, a := range v.AboutYou {
		if a.Actor != "ana" {
			t.Errorf("view by %q, want ana", a.Actor)
		}
	}
	if v.OrgWideTotal != 7 || len(v.OrgWide) != 7 {
		t.Errorf("organisation-wide = %d listed of %d, want 7 of 7", len(v.OrgWide), v.OrgWideTotal)
	}
	limited, err := s.WhoViewed(ctx, n, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(limited.AboutYou) != 2 || len(limited.OrgWide) != 2 || limited.OrgWideTotal != 7 || limited.OrgWide[0].Action != "view_community_members" {
		t.Errorf("limited to 2: %+v, want the newest 2 of each and the total 7", limited)
	}
}
