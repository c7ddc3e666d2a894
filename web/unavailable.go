package web

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// RetryAfterUnavailable is the Retry-After (seconds) of a 503 for an
// unreachable database: the pool reconnects on the next request, and service
// comes back within a few seconds of the database's return.
const RetryAfterUnavailable = "2"

// Messages of a 503 for an unreachable database. A write that failed before
// reaching the database (or that the database itself refused) certainly saved
// nothing; one whose connection broke in the middle may, rarely, have been
// committed just before the break, and saying "nothing was saved" would then
// be a lie, so that case says what the client should do instead.
const (
	msgUnavailable       = "The database is unreachable right now; nothing was saved. Try again in a moment."
	msgUnavailableBroken = "The connection to the database broke; your change was most likely not saved. Check, then try again in a moment."
)

// unavailable reports whether err means "the database cannot be reached or
// cannot serve right now" rather than a bug or a bad request: the caller is
// told 503 and to come back, never 500, and never that it worked.
//
// It is deliberately about the dependency, not the request: a client that
// went away (context.Canceled) is not unavailability.
func unavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var connectErr *pgconn.ConnectError
	var opErr *net.OpError
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connectErr): // refused, no route, DNS, auth to a restarting server
		return true
	case errors.As(err, &pgErr):
		return unavailableState(pgErr.Code)
	case pgconn.SafeToRetry(err), pgconn.Timeout(err):
		return true
	case errors.Is(err, context.DeadlineExceeded): // e.g. waiting for a pool connection
		return true
	case errors.As(err, &opErr), errors.Is(err, net.ErrClosed), errors.Is(err, pgconn.ErrConnClosed):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgxpool reports a closed pool, and pgconn some broken connections, by
	// text only.
	msg := err.Error()
	return strings.Contains(msg, "closed pool") || strings.Contains(msg, "conn closed")
}

// unavailableState reports whether an error the server sent means it cannot
// serve now (restarting, overloaded, connection lost, statement timeout); the
// transaction was rolled back either way.
func unavailableState(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"): // connection exception
		return true
	case code == "57P01", code == "57P02", code == "57P03": // admin/crash shutdown, cannot connect now
		return true
	case code == "53300": // too many connections
		return true
	case code == "57014": // query canceled (statement_timeout)
		return true
	}
	return false
}

// unavailableMessage is the message for an unavailable error: certain that
// nothing was saved unless the connection broke mid-request.
func unavailableMessage(err error) string {
	var connectErr *pgconn.ConnectError
	var pgErr *pgconn.PgError
	if errors.As(err, &connectErr) || errors.As(err, &pgErr) || pgconn.SafeToRetry(err) ||
		(errors.Is(err, context.DeadlineExceeded) && !pgconn.Timeout(err)) {
		return msgUnavailable
	}
	return msgUnavailableBroken
}
