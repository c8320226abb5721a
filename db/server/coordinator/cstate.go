package coordinator

import (
	"errors"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// CoordinatedState is one read-then-write of a cluster's coordinated state
// (FoundationDB's CoordinatedState, the home of DBCoreState): Read once,
// then SetExclusive at most once. SetExclusive succeeds only if no other
// reader or writer came between: the generation registers are a
// single-decree Paxos per generation, so of two writers that read the same
// state at most one's write is acknowledged, and an acknowledged value is
// what every later Read sees (or something written after it).
//
// Both fail with ErrCoordinatedStateConflict when a higher generation
// intervened (then start over with a new CoordinatedState), and with a
// *ForwardedError when the state moved to other coordinators. An error
// from SetExclusive does not say the value was not stored: a later Read
// tells.
type CoordinatedState struct {
	conn  Conn
	gen   *wire.UniqueGeneration
	stage int // 0 new, 1 read, 2 written
}

// NewCoordinatedState returns a reader-writer of conn's coordinated state.
func NewCoordinatedState(conn Conn) (*CoordinatedState, error) {
	conn, err := conn.check()
	if err != nil {
		return nil, err
	}
	return &CoordinatedState{conn: conn}, nil
}

// Read returns the coordinated state (nil if never written). It reads from
// a majority of coordinators twice: once to learn the highest generation
// in use, then at a generation above it, which locks out every older
// reader's write.
func (s *CoordinatedState) Read(c *flow.Ctx) ([]byte, error) {
	if s.stage != 0 {
		return nil, errors.New("coordinator: CoordinatedState.Read called twice; use a new CoordinatedState")
	}
	reps, err := s.readAll(c, &wire.UniqueGeneration{})
	if err != nil {
		return nil, err
	}
	var top uint64
	for _, r := range reps {
		top = max(top, r.GetReadGen().GetGeneration(), r.GetWriteGen().GetGeneration())
	}
	s.gen = &wire.UniqueGeneration{Generation: top + 1, Uid: c.Rand().Uint64() | 1}
	if reps, err = s.readAll(c, s.gen); err != nil {
		return nil, err
	}
	var latest *wire.GenerationReadReply
	for _, r := range reps {
		if genLess(s.gen, genMax(r.GetReadGen(), r.GetWriteGen())) {
			return nil, ErrCoordinatedStateConflict
		}
		if latest == nil || genLess(latest.GetWriteGen(), r.GetWriteGen()) {
			latest = r
		}
	}
	if to := latest.GetValue().GetForward(); to != "" {
		// The latest value is a move's forward marker: the move is
		// decided (a reader that sees it as latest adopts it), so tell
		// every coordinator to forward, then send the caller along.
		if err := confirmForward(c, s.conn, to); err != nil {
			return nil, err
		}
		return nil, forwarded(to)
	}
	s.stage = 1
	return latest.GetValue().GetValue(), nil
}

// readAll reads at gen from a majority and surfaces a decided forward.
func (s *CoordinatedState) readAll(c *flow.Ctx, gen *wire.UniqueGeneration) ([]*wire.GenerationReadReply, error) {
	req := &wire.GenerationReadRequest{ClusterKey: s.conn.File.Key(), Gen: gen}
	reps, ok, err := askMajority(c, len(s.conn.File.Coordinators), s.conn.Timing, func(i int) flow.Future[*wire.GenerationReadReply] {
		stream := flow.NewRequestStream(s.conn.endpoint(i, offGenerationRead), flow.ProtoCodec[*wire.GenerationReadRequest](), flow.ProtoCodec[*wire.GenerationReadReply]())
		return stream.GetReply(c.Env, req)
	})
	if err != nil {
		return nil, err
	}
	var out []*wire.GenerationReadReply
	for i, r := range reps {
		if !ok[i] {
			continue
		}
		if to := r.GetForwardedTo(); to != "" {
			return nil, forwarded(to)
		}
		out = append(out, r)
	}
	return out, nil
}

// SetExclusive writes value at the generation Read used. It succeeds only
// if a majority accepted and none had seen a higher generation.
func (s *CoordinatedState) SetExclusive(c *flow.Ctx, value []byte) error {
	switch s.stage {
	case 0:
		return errors.New("coordinator: CoordinatedState.SetExclusive before Read")
	case 2:
		return errors.New("coordinator: CoordinatedState.SetExclusive called twice; use a new CoordinatedState")
	}
	s.stage = 2
	return s.write(c, &wire.RegisterValue{Value: value})
}

func (s *CoordinatedState) write(c *flow.Ctx, v *wire.RegisterValue) error {
	req := &wire.GenerationWriteRequest{ClusterKey: s.conn.File.Key(), Gen: s.gen, Value: v}
	reps, ok, err := askMajority(c, len(s.conn.File.Coordinators), s.conn.Timing, func(i int) flow.Future[*wire.GenerationWriteReply] {
		stream := flow.NewRequestStream(s.conn.endpoint(i, offGenerationWrite), flow.ProtoCodec[*wire.GenerationWriteRequest](), flow.ProtoCodec[*wire.GenerationWriteReply]())
		return stream.GetReply(c.Env, req)
	})
	if err != nil {
		return err
	}
	for i, r := range reps {
		if !ok[i] {
			continue
		}
		if to := r.GetForwardedTo(); to != "" {
			return forwarded(to)
		}
		if !genEqual(r.GetMaxGen(), s.gen) {
			return ErrCoordinatedStateConflict
		}
	}
	return nil
}

// confirmForward tells a majority of conn's coordinators that the move to
// connection string to is decided.
func confirmForward(c *flow.Ctx, conn Conn, to string) error {
	req := &wire.ForwardRequest{ClusterKey: conn.File.Key(), To: to}
	_, _, err := askMajority(c, len(conn.File.Coordinators), conn.Timing, func(i int) flow.Future[*wire.ForwardReply] {
		stream := flow.NewRequestStream(conn.endpoint(i, offForward), flow.ProtoCodec[*wire.ForwardRequest](), flow.ProtoCodec[*wire.ForwardReply]())
		return stream.GetReply(c.Env, req)
	})
	return err
}
