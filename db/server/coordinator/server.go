package coordinator

import (
	"fmt"
	"slices"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// Config parameterises a coordinator.
type Config struct {
	// BaseToken is the first of the coordinator's well-known tokens; 0
	// means DefaultBaseToken. Clients must use the same (Conn.BaseToken).
	BaseToken uint64
	// StateFile names the durable state in the process's data directory;
	// "" means DefaultStateFile.
	StateFile string
	// Timing must match the clients'; zero fields take DefaultTiming's.
	Timing Timing
}

type listener[Req, Rep any] = *flow.Listener[Req, Rep]

// Coordinator serves the generation registers and the leader election of
// every cluster key it is asked about.
type Coordinator struct {
	env    *flow.Env
	timing Timing
	store  *store

	read      listener[*wire.GenerationReadRequest, *wire.GenerationReadReply]
	write     listener[*wire.GenerationWriteRequest, *wire.GenerationWriteReply]
	forward   listener[*wire.ForwardRequest, *wire.ForwardReply]
	candidacy listener[*wire.CandidacyRequest, *wire.NomineeReply]
	heartbeat listener[*wire.LeaderHeartbeatRequest, *wire.LeaderHeartbeatReply]
	getLeader listener[*wire.GetLeaderRequest, *wire.NomineeReply]

	elections map[string]*election
	// quietUntil is when this incarnation may first nominate anyone: it
	// does not remember whom it nominated before a restart, and a leader
	// may still hold a lease on that nomination. A coordinator that has
	// never run (no state file) has promised nothing: it makes its state
	// file durable, then nominates at once (firstStart).
	quietUntil time.Time
	actors     []*flow.Actor
}

// Start recovers the coordinator's state from env.Files() and serves it.
// It fails if the state file exists but is damaged: a coordinator that
// forgot its promises must not serve.
func Start(env *flow.Env, cfg Config) (*Coordinator, error) {
	t, err := cfg.Timing.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.BaseToken == 0 {
		cfg.BaseToken = DefaultBaseToken
	}
	if cfg.BaseToken >= flow.WellKnownLimit || cfg.BaseToken+numTokens > flow.WellKnownLimit {
		return nil, fmt.Errorf("coordinator: base token %d is not well known", cfg.BaseToken)
	}
	if cfg.StateFile == "" {
		cfg.StateFile = DefaultStateFile
	}
	if env.Files() == nil {
		return nil, fmt.Errorf("coordinator: the process has no data directory")
	}
	st, err := loadStore(env.Files(), cfg.StateFile)
	if err != nil {
		return nil, err
	}
	b := cfg.BaseToken
	co := &Coordinator{
		env:        env,
		timing:     t,
		store:      st,
		read:       flow.Listen(env, b+offGenerationRead, flow.ProtoCodec[*wire.GenerationReadRequest](), flow.ProtoCodec[*wire.GenerationReadReply]()),
		write:      flow.Listen(env, b+offGenerationWrite, flow.ProtoCodec[*wire.GenerationWriteRequest](), flow.ProtoCodec[*wire.GenerationWriteReply]()),
		forward:    flow.Listen(env, b+offForward, flow.ProtoCodec[*wire.ForwardRequest](), flow.ProtoCodec[*wire.ForwardReply]()),
		candidacy:  flow.Listen(env, b+offCandidacy, flow.ProtoCodec[*wire.CandidacyRequest](), flow.ProtoCodec[*wire.NomineeReply]()),
		heartbeat:  flow.Listen(env, b+offLeaderHeartbeat, flow.ProtoCodec[*wire.LeaderHeartbeatRequest](), flow.ProtoCodec[*wire.LeaderHeartbeatReply]()),
		getLeader:  flow.Listen(env, b+offGetLeader, flow.ProtoCodec[*wire.GetLeaderRequest](), flow.ProtoCodec[*wire.NomineeReply]()),
		elections:  map[string]*election{},
		quietUntil: env.Now().Add(t.NomineeTimeout),
	}
	co.actors = []*flow.Actor{
		env.Spawn("Coordinator.Registers", co.serveRegisters),
		env.Spawn("Coordinator.Candidacy", co.serveCandidacy),
		env.Spawn("Coordinator.Heartbeat", co.serveHeartbeat),
		env.Spawn("Coordinator.GetLeader", co.serveGetLeader),
		env.Spawn("Coordinator.Tick", co.tick),
	}

	env.Trace(flow.SevInfo, "CoordinatorStarted", flow.D("Registers", len(st.regs)))
	return co, nil
}

// firstStart ends the quiet period of a coordinator's first incarnation
// once its (empty) state file is durable. Any later incarnation finds the
// file and waits out the leases an earlier one may have granted; one that
// died before the file was durable never nominated anyone. On a new
// cluster this saves NomineeTimeout before the first controller is
// elected. A failed save leaves the quiet period as it was.
// It runs in serveRegisters, before the first request: the file's
// rewrites must not overlap.
func (co *Coordinator) firstStart(c *flow.Ctx) {
	if co.store.existed {
		return
	}
	if err := co.store.save(c); err != nil {
		c.Trace(flow.SevWarn, "CoordinatorFirstStartNotSaved", flow.D("Error", err))
		return
	}
	co.store.existed = true
	co.quietUntil = c.Now()
	for _, key := range sortedKeys(co.elections) {
		co.reevaluate(co.elections[key])
	}
}

// Stop stops serving. Its durable state stays on disk.
func (co *Coordinator) Stop() {
	for _, a := range co.actors {
		a.Cancel()
	}
	co.read.Close()
	co.write.Close()
	co.forward.Close()
	co.candidacy.Close()
	co.heartbeat.Close()
	co.getLeader.Close()
}

// Nominee returns whom the coordinator nominates for key now (nil for
// nobody): for status and for tests that check the election.
func (co *Coordinator) Nominee(key string) *wire.LeaderInfo {
	if e := co.elections[key]; e != nil && e.nominee != nil {
		return proto.CloneOf(e.nominee)
	}
	return nil
}

// serveRegisters answers reads, writes and forwards one at a time: each
// change is durable before its reply, and serving them in one actor keeps
// the file rewrites in order.
func (co *Coordinator) serveRegisters(c *flow.Ctx) error {
	co.firstStart(c)
	for {
		i, err := flow.Select(c, co.read.Requests(), co.write.Requests(), co.forward.Requests())
		if err != nil {
			return err
		}
		switch i {
		case 0:
			if r, _ := co.read.Requests().TryNext(); validKey(r, r.Msg.GetClusterKey()) {
				err = co.handleRead(c, r)
			}
		case 1:
			if r, _ := co.write.Requests().TryNext(); validKey(r, r.Msg.GetClusterKey()) {
				err = co.handleWrite(c, r)
			}
		case 2:
			if r, _ := co.forward.Requests().TryNext(); validKey(r, r.Msg.GetClusterKey()) {
				err = co.handleForward(c, r)
			}
		}
		if err != nil {
			// A disk that cannot save state ends the coordinator: serving
			// on would reveal promises that a restart forgets.
			co.env.Trace(flow.SevError, "CoordinatorDiskFailed", flow.D("Error", err.Error()))
			return err
		}
	}
}

func (co *Coordinator) handleRead(c *flow.Ctx, r *flow.Request[*wire.GenerationReadRequest, *wire.GenerationReadReply]) error {
	key := r.Msg.GetClusterKey()
	if to := co.store.forwardedTo(key); to != "" {
		r.Reply(&wire.GenerationReadReply{ForwardedTo: to})
		return nil
	}
	reg := co.store.get(key)
	if genLess(reg.GetReadGen(), r.Msg.GetGen()) {
		reg.ReadGen = proto.CloneOf(r.Msg.GetGen())
		if err := co.store.save(c); err != nil {
			return err
		}
	}
	r.Reply(&wire.GenerationReadReply{Value: reg.GetValue(), WriteGen: reg.GetWriteGen(), ReadGen: reg.GetReadGen()})
	return nil
}

func (co *Coordinator) handleWrite(c *flow.Ctx, r *flow.Request[*wire.GenerationWriteRequest, *wire.GenerationWriteReply]) error {
	key := r.Msg.GetClusterKey()
	if to := co.store.forwardedTo(key); to != "" {
		r.Reply(&wire.GenerationWriteReply{ForwardedTo: to})
		return nil
	}
	reg := co.store.get(key)
	gen := r.Msg.GetGen()
	if !genLess(gen, reg.GetReadGen()) && genLess(reg.GetWriteGen(), gen) {
		reg.WriteGen = proto.CloneOf(gen)
		reg.Value = proto.CloneOf(r.Msg.GetValue())
		if reg.Value == nil {
			reg.Value = &wire.RegisterValue{}
		}
		if err := co.store.save(c); err != nil {
			return err
		}
	}
	r.Reply(&wire.GenerationWriteReply{MaxGen: genMax(reg.GetReadGen(), reg.GetWriteGen())})
	return nil
}

// handleForward records that key's move is decided. The first decided
// forward stays: a move is decided once, and a later different one would
// be a bug elsewhere, not a reason to redirect clients twice.
func (co *Coordinator) handleForward(c *flow.Ctx, r *flow.Request[*wire.ForwardRequest, *wire.ForwardReply]) error {
	key := r.Msg.GetClusterKey()
	if _, err := clusterfile.Parse(r.Msg.GetTo()); err != nil {
		r.Fail(fmt.Errorf("coordinator: forward of %s to %q: %w", key, r.Msg.GetTo(), err))
		return nil
	}
	reg := co.store.get(key)
	if reg.GetForwardedTo() == "" {
		reg.ForwardedTo = r.Msg.GetTo()
		if err := co.store.save(c); err != nil {
			return err
		}
		co.env.Trace(flow.SevInfo, "CoordinatorForwarded", flow.D("Key", key), flow.D("To", reg.GetForwardedTo()))
		if e := co.elections[key]; e != nil {
			e.fire()
		}
	}
	r.Reply(&wire.ForwardReply{})
	return nil
}

// ErrInvalidClusterKey answers a request for a key no cluster file could
// name, which the coordinator will not store state for.
var ErrInvalidClusterKey = &flow.Error{Code: 2104, Name: "connection_string_invalid"}

// validKey fails r and reports false if key is not a valid cluster key.
func validKey(r interface{ Fail(error) }, key string) bool {
	if err := clusterfile.ValidateKey(key); err != nil {
		r.Fail(ErrInvalidClusterKey)
		return false
	}
	return true
}

// sortedKeys returns a map's keys in order, for deterministic iteration.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
