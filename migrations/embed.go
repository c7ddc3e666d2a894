// Package migrations holds the SQL schema as numbered up/down files, embedded so the
// server binary applies them at start-up (golang-migrate, file names NNNN_name.up.sql).
package migrations

import "embed"

// FS holds every *.sql migration file.
//
//go:embed *.sql
var FS embed.FS
