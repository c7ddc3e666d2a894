package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/config"
	"github.com/nodecommunity/nodecommunity/internal/db"
)

// grantCmd is `server grant --handle H --capability people_analyst|steward [--revoke]`:
// the operator's way to give the first people analyst (stewards can do it on
// the access page after that).
func grantCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("grant", flag.ContinueOnError)
	fs.SetOutput(out)
	handle := fs.String("handle", "", "the person's handle")
	capability := fs.String("capability", "", "people_analyst or steward")
	revoke := fs.Bool("revoke", false, "take the capability away instead")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if *handle == "" || *capability == "" || fs.NArg() > 0 {
		return fmt.Errorf("grant needs --handle and --capability: %w", errUsage)
	}
	pool, stop, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	if err := db.MigrateUp(pool); err != nil {
		return err
	}
	n, err := community.NewStore(pool).SetCapability(ctx, 0, *handle, *capability, !*revoke)
	if err != nil {
		return err
	}
	// Capability changes are audited wherever they are made; here the actor
	// is the operator at the command line (no node).
	action := "grant_" + *capability
	if *revoke {
		action = "revoke_" + *capability
	}
	if err := audit.NewStore(pool).Add(ctx, audit.Record{Action: action, Address: "cli",
		Detail: map[string]any{"handle": n.Handle, "node": n.ID, "via": "server grant"}}); err != nil {
		return fmt.Errorf("@%s: the change is made, but not recorded in the audit log: %w", n.Handle, err)
	}
	verb := "now has"
	if *revoke {
		verb = "no longer has"
	}
	fmt.Fprintf(out, "@%s %s the %s capability\n", n.Handle, verb, *capability)
	return nil
}
