package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/testenv"
)

func TestGrantCommand(t *testing.T) {
	dbURL := testenv.DatabaseURL(t)
	pool := testenv.Pool(t, dbURL)
	if _, err := pool.Exec(context.Background(), `INSERT INTO nodes (handle, display_name, email) VALUES ('ana', 'Ana', 'ana@example.test')`); err != nil {
		t.Fatal(err)
	}
	grant := func(args ...string) (string, error) {
		var out, logs bytes.Buffer
		err := run(context.Background(), append([]string{"grant"}, args...), func(k string) string {
			return map[string]string{"DATABASE_URL": dbURL, "DATA_DIR": t.TempDir()}[k]
		}, &out, &logs)
		return strings.TrimSpace(out.String()), err
	}
	got, err := grant("--handle", "ana", "--capability", "people_analyst")
	if err != nil || got != "@ana now has the people_analyst capability" {
		t.Fatalf("grant = %q, %v", got, err)
	}
	n, err := community.NewStore(pool).FindNodeByHandle(context.Background(), "ana")
	if err != nil || !n.PeopleAnalyst {
		t.Fatalf("ana = %+v, %v; want a people analyst", n, err)
	}
	if got, err := grant("--handle", "ana", "--capability", "people_analyst", "--revoke"); err != nil || !strings.Contains(got, "no longer has") {
		t.Errorf("revoke = %q, %v", got, err)
	}
	var ve *community.ValidationError
	if _, err := grant("--handle", "nobody", "--capability", "people_analyst"); !errors.As(err, &ve) || ve.Field != "handle" {
		t.Errorf("unknown handle: %v, want a validation error on handle", err)
	}
	if _, err := grant("--handle", "ana", "--capability", "admin"); !errors.As(err, &ve) || ve.Field != "capability" {
		t.Errorf("unknown capability: %v", err)
	}
	if _, err := grant("--handle", "ana"); !errors.Is(err, errUsage) {
		t.Errorf("missing capability: %v, want usage", err)
	}
}
