package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/nodecommunity/nodecommunity/internal/audit"
	"github.com/nodecommunity/nodecommunity/internal/community"
	"github.com/nodecommunity/nodecommunity/internal/config"
	"github.com/nodecommunity/nodecommunity/internal/db"
)

const importUsage = `usage: server import --nodes people.csv [--edges edges.txt]

Adds people (and the ties between them) to the network in one transaction.
people.csv needs a header row with handle, display_name and email, and may have
id, skills (split by ; or |), community (split by ;), title and location.
edges.txt has one pair per line: two handles or ids separated by spaces.
If any row is bad, nothing is imported and every bad row is listed by line.
`

// importCmd is `server import --nodes people.csv [--edges edges.txt]`.
func importCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error is returned and printed once, by main
	nodesPath := fs.String("nodes", "", "CSV file of people (required)")
	edgesPath := fs.String("edges", "", "file of ties, one pair per line (optional)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(out, importUsage)
			return nil
		}
		return fmt.Errorf("import: %v: %w", err, errUsage)
	}
	if *nodesPath == "" || fs.NArg() > 0 {
		return fmt.Errorf("import: give the people file with --nodes, and nothing else: %w", errUsage)
	}
	// Open the files before the database so a typo costs nothing.
	nodes, err := os.Open(*nodesPath)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer nodes.Close()
	in := community.ImportInput{Nodes: nodes}
	if *edgesPath != "" {
		edges, err := os.Open(*edgesPath)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer edges.Close()
		in.Edges = edges
	}

	pool, stop, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	if err := db.MigrateUp(pool); err != nil {
		return err
	}
	rep, err := community.NewStore(pool).Import(ctx, in)
	var bad *community.ImportErrors
	if errors.As(err, &bad) {
		printImportErrors(out, bad, map[string]string{community.ImportFileNodes: *nodesPath, community.ImportFileEdges: *edgesPath})
		return fmt.Errorf("import: nothing was imported: %s (listed above)", importPlural(bad.Total, "bad row", "bad rows"))
	}
	if err != nil {
		return err
	}
	log.Info("import done", "people", rep.People, "connections", rep.Connections, "elapsed", rep.Elapsed)
	// The import is done; a failed audit row is reported, not undone.
	if err := audit.NewStore(pool).Add(ctx, audit.Record{Action: audit.ActionImport, Address: "cli", Detail: importAuditDetail(rep, "server import")}); err != nil {
		log.Error("audit", "action", audit.ActionImport, "err", err)
	}
	printImportReport(out, rep, *nodesPath, *edgesPath)
	return nil
}

// importAuditDetail is what the audit log keeps of an import: its counts.
func importAuditDetail(rep community.ImportReport, via string) map[string]any {
	return map[string]any{"via": via, "people": rep.People, "communities": rep.Communities,
		"memberships": rep.Memberships, "ties": rep.TiesRead, "connections": rep.Connections}
}

func printImportReport(out io.Writer, rep community.ImportReport, nodesPath, edgesPath string) {
	from := nodesPath
	if edgesPath != "" {
		from += " and " + edgesPath
	}
	fmt.Fprintf(out, "imported %s in %.2fs\n", from, rep.Elapsed.Seconds())
	for _, row := range []struct {
		n    int
		what string
	}{
		{rep.People, "people created"},
		{rep.Communities, "communities created"},
		{rep.Memberships, "memberships"},
		{rep.TiesRead, "ties read"},
		{rep.SelfLoops, "self-loops skipped"},
		{rep.Merged, "repeated or reverse ties merged"},
		{rep.AlreadyConnected, "pairs already connected, left as they were"},
		{rep.Connections, "connections created"},
	} {
		fmt.Fprintf(out, "%9d  %s\n", row.n, row.what)
	}
}

// printImportErrors lists bad rows as "line N: field: reason", under the name
// of the file they are in.
func printImportErrors(out io.Writer, bad *community.ImportErrors, paths map[string]string) {
	fmt.Fprintf(out, "nothing was imported: %s\n", importPlural(bad.Total, "bad row", "bad rows"))
	file := ""
	for _, r := range bad.Rows {
		if r.File != file {
			file = r.File
			fmt.Fprintf(out, "%s:\n", paths[file])
		}
		fmt.Fprintf(out, "  line %d: %s: %s\n", r.Line, r.Field, r.Reason)
	}
	if more := bad.Total - len(bad.Rows); more > 0 {
		fmt.Fprintf(out, "… and %d more; fix these and run the import again to see them.\n", more)
	}
}

func importPlural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}
