package coordinator

import (
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// MoveCoordinatedState moves the coordinated state from the coordinators
// of from to those of to (FoundationDB's MovableCoordinatedState::move plus
// the coordinators' forwarding), the core of `coordinators <addr>...`:
//
//  1. read the state from the old quorum at a fresh generation g;
//  2. write it to the new quorum (read, then SetExclusive);
//  3. write a forward marker naming the new connection string into the
//     old registers at generation g. This is an ordinary conditional
//     write: it fails if anyone read or wrote the old state after step 1,
//     so the copy in the new quorum is the latest state iff it succeeds;
//  4. tell the old coordinators the move is decided: from then on they
//     answer every request for the old key with the new connection string,
//     so clients, servers and candidates follow (and rewrite their cluster
//     files).
//
// If step 3 fails the move fails with ErrCoordinatedStateConflict and the
// old coordinators stay in charge, unless a later reader finds the marker
// as the latest value, which decides the move after all (the copy it
// points to is then current). Calling it again after a success is a no-op.
// The new connection string must have a new ID, as FoundationDB's does:
// the ID names the cluster's coordinator set.
func MoveCoordinatedState(c *flow.Ctx, from, to Conn) error {
	if from.File.Key() == to.File.Key() {
		return fmt.Errorf("coordinator: moving to %s: the new coordinators need a new ID", to.File)
	}
	old, err := NewCoordinatedState(from)
	if err != nil {
		return err
	}
	if _, err := to.check(); err != nil {
		return err
	}
	value, err := old.Read(c)
	if forwardedTo(err, to) {
		return nil // an earlier move to the same coordinators completed
	}
	if err != nil {
		return fmt.Errorf("coordinator: reading the state to move: %w", err)
	}
	next, err := NewCoordinatedState(to)
	if err != nil {
		return err
	}
	if _, err := next.Read(c); err != nil {
		return fmt.Errorf("coordinator: reading the new coordinators: %w", err)
	}
	if err := next.SetExclusive(c, value); err != nil {
		return fmt.Errorf("coordinator: writing the state to the new coordinators: %w", err)
	}
	old.stage = 2
	// A reader that found our marker as the latest value may have decided
	// the move and forwarded the old coordinators before our write heard
	// back: that is success too.
	if err := old.write(c, &wire.RegisterValue{Forward: to.File.String()}); err != nil && !forwardedTo(err, to) {
		return fmt.Errorf("coordinator: marking the old coordinators as moved: %w", err)
	}
	if err := confirmForward(c, old.conn, to.File.String()); err != nil {
		return fmt.Errorf("coordinator: forwarding the old coordinators: %w", err)
	}
	c.Trace(flow.SevInfo, "CoordinatorsMoved", flow.D("From", from.File.String()), flow.D("To", to.File.String()))
	return nil
}

// forwardedTo reports whether err says the state moved to to.
func forwardedTo(err error, to Conn) bool {
	var fe *ForwardedError
	return errors.As(err, &fe) && fe.To.String() == to.File.String()
}
