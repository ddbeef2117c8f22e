// Package scim is the SCIM 2.0 model (RFC 7643/7644): schemas, resources, filters, PATCH paths and the
// error type. It does no I/O, so every rule about what SCIM means is testable without a server or database.
package scim

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// scimType values from RFC 7644 section 3.12.
const (
	TypeInvalidFilter = "invalidFilter"
	TypeInvalidCursor = "invalidCursor" // RFC 9865: a cursor this server did not issue
	TypeTooMany       = "tooMany"
	TypeUniqueness    = "uniqueness"
	TypeMutability    = "mutability"
	TypeInvalidSyntax = "invalidSyntax"
	TypeInvalidPath   = "invalidPath"
	TypeNoTarget      = "noTarget"
	TypeInvalidValue  = "invalidValue"
	TypeInvalidVers   = "invalidVers"
	TypeSensitive     = "sensitive"
)

// Error is a SCIM protocol error. Detail is shown to the client and must help an IdP admin fix the request;
// Err is the private cause (a SQL error, say) that is logged and never sent.
type Error struct {
	Status   int    // HTTP status
	ScimType string // RFC 7644 scimType, empty where the RFC defines none
	Detail   string // public text
	Err      error  // private cause, may be nil
	// RetryAfter, when positive, is sent as the Retry-After header (in whole seconds, at least 1): how long
	// the client should wait before sending the request again. A 503 without it gets the server's default.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("scim %d", e.Status)
	if e.ScimType != "" {
		msg += " " + e.ScimType
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a client-facing error with a formatted public detail.
func Errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 with the given scimType.
func BadRequest(scimType, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, scimType, format, args...)
}

// NotFound is the 404 for a resource id that does not exist (or was deleted).
func NotFound(resourceType, id string) *Error {
	return Errorf(http.StatusNotFound, "", "%s %q not found", resourceType, id)
}

// Conflict is the 409 uniqueness error.
func Conflict(format string, args ...any) *Error {
	return Errorf(http.StatusConflict, TypeUniqueness, format, args...)
}

// Unavailable is the 503 answered while the database cannot be reached; cause is logged only.
func Unavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Detail: "the directory database is unavailable; retry later", Err: cause}
}

// Internal wraps an unexpected failure: the client sees a generic 500, the cause is logged.
func Internal(cause error) *Error {
	return &Error{Status: http.StatusInternalServerError, Detail: "internal error", Err: cause}
}

// AsError returns the *Error inside err, or an internal error wrapping it.
func AsError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	return Internal(err)
}
