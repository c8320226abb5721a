package coordinator

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
)

// DefaultBaseToken is the first of the well-known tokens coordinators serve
// on. Coordinators are the one role found by address alone (the cluster
// file lists nothing else), so their endpoints are well known; the base is
// configuration so the lead can place it with kv's other tokens.
const DefaultBaseToken uint64 = 210

// The interfaces a coordinator serves, as offsets from the base token.
const (
	offGenerationRead uint64 = iota
	offGenerationWrite
	offForward
	offCandidacy
	offLeaderHeartbeat
	offGetLeader
	numTokens
)

// Timing holds the intervals of coordination. Coordinators and their
// clients must agree on it: the leader's lease is only safe because a
// coordinator keeps a nomination for NomineeTimeout > Lease.
type Timing struct {
	// PollTimeout bounds how long a coordinator holds a long poll
	// (candidacy, leader poll) before answering with what it has.
	PollTimeout time.Duration
	// CandidateTimeout is how long after its last candidacy poll a
	// candidate is still considered for nomination.
	CandidateTimeout time.Duration
	// NomineeTimeout is how long a coordinator keeps a nomination without
	// a heartbeat from the nominee; a restarted coordinator also nominates
	// nobody for this long, since it forgot whom it had promised.
	NomineeTimeout time.Duration
	// Lease is how long a leader counts itself leader after sending a
	// heartbeat round that a majority confirmed.
	Lease time.Duration
	// HeartbeatInterval is how often a leader renews its nomination.
	HeartbeatInterval time.Duration
	// RetryDelay is the pause before re-sending a request that failed
	// (the coordinator was unreachable or restarting).
	RetryDelay time.Duration
}

// DefaultTiming returns the intervals used unless configured otherwise.
func DefaultTiming() Timing {
	return Timing{
		PollTimeout:       time.Second,
		CandidateTimeout:  2500 * time.Millisecond,
		NomineeTimeout:    3 * time.Second,
		Lease:             2 * time.Second,
		HeartbeatInterval: 400 * time.Millisecond,
		RetryDelay:        100 * time.Millisecond,
	}
}

// withDefaults fills zero fields from DefaultTiming and checks the
// relations safety depends on.
func (t Timing) withDefaults() (Timing, error) {
	d := DefaultTiming()
	for _, f := range []struct{ v, def *time.Duration }{
		{&t.PollTimeout, &d.PollTimeout}, {&t.CandidateTimeout, &d.CandidateTimeout},
		{&t.NomineeTimeout, &d.NomineeTimeout}, {&t.Lease, &d.Lease},
		{&t.HeartbeatInterval, &d.HeartbeatInterval}, {&t.RetryDelay, &d.RetryDelay},
	} {
		if *f.v < 0 {
			return t, errors.New("coordinator: negative timing")
		}
		if *f.v == 0 {
			*f.v = *f.def
		}
	}
	if t.NomineeTimeout <= t.Lease {
		return t, fmt.Errorf("coordinator: NomineeTimeout %v must exceed Lease %v, or two leaders could overlap", t.NomineeTimeout, t.Lease)
	}
	if t.HeartbeatInterval >= t.Lease {
		return t, fmt.Errorf("coordinator: HeartbeatInterval %v must be below Lease %v", t.HeartbeatInterval, t.Lease)
	}
	if t.CandidateTimeout <= t.PollTimeout {
		return t, fmt.Errorf("coordinator: CandidateTimeout %v must exceed PollTimeout %v, or waiting candidates lapse", t.CandidateTimeout, t.PollTimeout)
	}
	return t, nil
}

// Conn is how a client reaches one cluster's coordinators: the cluster
// file's key and addresses, the coordinators' base token and the timing
// they run with.
type Conn struct {
	File      clusterfile.ClusterFile
	BaseToken uint64 // 0 means DefaultBaseToken
	Timing    Timing // zero fields take DefaultTiming's
}

// endpoint returns the endpoint of interface off at coordinator i.
func (c Conn) endpoint(i int, off uint64) flow.Endpoint {
	base := c.BaseToken
	if base == 0 {
		base = DefaultBaseToken
	}
	return flow.Endpoint{Addr: flow.Address(c.File.Coordinators[i].String()), Token: base + off}
}

// check validates the connection and fills defaults.
func (c Conn) check() (Conn, error) {
	if len(c.File.Coordinators) == 0 {
		return c, errors.New("coordinator: connection without coordinators")
	}
	if err := c.File.Validate(); err != nil {
		return c, fmt.Errorf("coordinator: %w", err)
	}
	t, err := c.Timing.withDefaults()
	if err != nil {
		return c, err
	}
	c.Timing = t
	return c, nil
}

// ErrCoordinatedStateConflict fails a read or write of the coordinated
// state that a reader or writer with a higher generation overtook.
var ErrCoordinatedStateConflict = &flow.Error{Code: 1005, Name: "coordinated_state_conflict"}

// ErrCoordinatorsChanged matches a ForwardedError (errors.Is).
var ErrCoordinatorsChanged = &flow.Error{Code: 1027, Name: "coordinators_changed"}

// ForwardedError says the cluster's coordinated state moved to other
// coordinators: the caller should switch to To (and rewrite its cluster
// file with it).
type ForwardedError struct {
	To clusterfile.ClusterFile
}

func (e *ForwardedError) Error() string {
	return "coordinators changed: the cluster moved to " + e.To.String()
}

// Is makes a ForwardedError match ErrCoordinatorsChanged.
func (e *ForwardedError) Is(target error) bool { return target == ErrCoordinatorsChanged }

// forwarded turns a coordinator's forwarded_to into a ForwardedError. A
// connection string that does not parse is reported as such: it came from
// the network.
func forwarded(to string) error {
	cf, err := clusterfile.Parse(to)
	if err != nil {
		return fmt.Errorf("coordinator forwarded to an invalid connection string %q: %w", to, err)
	}
	return &ForwardedError{To: cf}
}
