package community

import (
	"errors"
	"fmt"
)

// Sentinel errors; the web layer maps them to HTTP statuses.
var (
	ErrNotFound     = errors.New("not found")
	ErrConflict     = errors.New("already exists")
	ErrForbidden    = errors.New("not allowed")
	ErrUnauthorized = errors.New("not signed in")
)

// ValidationError says which input field is wrong and how to fix it.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Message) }

// invalid is shorthand for a *ValidationError.
func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// conflictError is ErrConflict with a message naming what clashed.
type conflictError struct {
	Field   string
	Message string
}

func (e *conflictError) Error() string { return e.Message }
func (e *conflictError) Unwrap() error { return ErrConflict }

// Conflict returns an error that matches ErrConflict and names the field.
func Conflict(field, message string) error { return &conflictError{Field: field, Message: message} }

// ConflictField is the field a conflict error names, if any.
func ConflictField(err error) string {
	var c *conflictError
	if errors.As(err, &c) {
		return c.Field
	}
	return ""
}
