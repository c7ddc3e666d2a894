package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/nodecommunity/nodecommunity/internal/config"
)

// importCmd is `server import --nodes people.csv [--edges edges.txt]` (placeholder).
func importCmd(ctx context.Context, cfg config.Config, log *slog.Logger, args []string, out io.Writer) error {
	return errors.New("import: not built yet")
}
