package flow

import (
	"errors"
	"fmt"
)

// Error is an error with FoundationDB's name and numeric code. Errors that
// cross the network keep their code and name.
type Error struct {
	Code int
	Name string
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d)", e.Name, e.Code) }

// Is matches errors by code, so a decoded remote error equals the sentinel.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// The runtime's errors, with FoundationDB's names and codes.
var (
	// ErrTimedOut is returned by Timeout when the deadline passes first.
	ErrTimedOut = &Error{1004, "timed_out"}
	// ErrConnectionFailed is returned when a peer cannot be reached.
	ErrConnectionFailed = &Error{1026, "connection_failed"}
	// ErrRequestMaybeDelivered fails a request whose peer was declared
	// failed before it replied: the request may or may not have run.
	ErrRequestMaybeDelivered = &Error{1030, "request_maybe_delivered"}
	// ErrBrokenPromise fails a future whose promise was dropped unfulfilled.
	ErrBrokenPromise = &Error{1100, "broken_promise"}
	// ErrOperationCancelled is returned from blocking calls of a cancelled actor.
	ErrOperationCancelled = &Error{1101, "operation_cancelled"}
	// ErrInternal wraps an error a remote handler failed with that has no code.
	ErrInternal = &Error{4100, "internal_error"}
	// ErrEndpointNotFound is the reply to a request for an unknown endpoint.
	ErrEndpointNotFound = &Error{1104, "endpoint_not_found"}
)

// ErrLoopStopped is returned by Post after the loop has stopped.
var ErrLoopStopped = errors.New("flow: loop stopped")

// AsError returns err as a coded *Error, mapping uncoded errors to
// internal_error so they can cross the network.
func AsError(err error) *Error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	return ErrInternal
}
