package storage

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// logStreams are the request streams of one transaction log.
type logStreams struct {
	iface *wire.TLogInterface
	peek  flow.RequestStream[*wire.TLogPeekRequest, *wire.TLogPeekReply]
	pop   flow.RequestStream[*wire.TLogPopRequest, *wire.TLogPopReply]
}

func newLogStreams(logs []*wire.TLogInterface) ([]logStreams, error) {
	if len(logs) == 0 {
		return nil, errors.New("no transaction log to pull from")
	}
	out := make([]logStreams, len(logs))
	for i, l := range logs {
		if l == nil {
			return nil, fmt.Errorf("transaction log %d is nil", i)
		}
		addr := flow.Address(l.Address)
		out[i] = logStreams{iface: l,
			peek: flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: l.Peek},
				flow.ProtoCodec[*wire.TLogPeekRequest](), flow.ProtoCodec[*wire.TLogPeekReply]()),
			pop: flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: l.Pop},
				flow.ProtoCodec[*wire.TLogPopRequest](), flow.ProtoCodec[*wire.TLogPopReply]())}
	}
	return out, nil
}

// startPull starts a pull actor on the current logs. Each pull actor
// belongs to one generation of s.pullGen: SetLogs cancels it and starts
// another, and an actor that finds the generation moved on applies nothing.
func (s *Server) startPull() {
	s.pullGen++
	gen := s.pullGen
	if s.pullActor != nil {
		s.pullActor.Cancel()
	}
	a := s.env.Spawn("StoragePull", func(c *flow.Ctx) error { return s.pull(c, gen) })
	s.pullActor = a
	a.Done().OnReady(func(_ struct{}, err error) {
		if err != nil && gen == s.pullGen && !s.stopped && s.env.Alive() {
			s.env.Trace(flow.SevError, "StorageServerFailed", flow.D("ID", s.id), flow.D("Actor", "StoragePull"),
				flow.D("Error", err.Error()))
			s.stop(err)
		}
	})
}

// pull peeks the server's tag from one of the logs (every log holds every
// tag), from the version after the server's, and applies what comes back.
// A peek that fails or gets no answer within PeekTimeout moves to the next
// log; after a round of failures it pauses PeekRetryDelay.
func (s *Server) pull(c *flow.Ctx, gen uint64) error {
	logs := s.logs
	// Servers start on different logs so the peeks spread over them.
	i := int(s.tag) % len(logs)
	failures := 0
	for {
		l := logs[i]
		req := &wire.TLogPeekRequest{Tag: s.tag, Begin: int64(s.version + 1)}
		rep, err := flow.Timeout(c, l.peek.GetReply(s.env, req), s.knobs.PeekTimeout)
		if gen != s.pullGen || s.stopped {
			return nil // SetLogs replaced this actor, or Stop stopped it, while it waited
		}
		if err != nil {
			s.env.Trace(flow.SevWarn, "StoragePeekFailed", flow.D("ID", s.id), flow.D("Log", l.iface.Id),
				flow.D("Begin", req.Begin), flow.D("Error", err.Error()))
			i = (i + 1) % len(logs)
			if failures++; failures%len(logs) == 0 {
				if err := c.Sleep(s.knobs.PeekRetryDelay); err != nil {
					return err
				}
				if gen != s.pullGen {
					return nil
				}
			}
			continue
		}
		failures = 0
		if err := s.applyPeek(rep); err != nil {
			return err
		}
	}
}

// applyPeek applies a peek reply's versions above the server's version, in
// order and without yielding, then advances the version to the reply's end
// and fires the watches the writes changed.
func (s *Server) applyPeek(rep *wire.TLogPeekReply) error {
	if kv.Version(rep.Popped) > s.version+1 {
		// The log dropped versions this server never applied: its data is
		// incomplete from here on. Only recovery (a later issue) can fix it.
		s.env.Trace(flow.SevError, "StoragePeekPopped", flow.D("ID", s.id), flow.D("Version", s.version),
			flow.D("Popped", rep.Popped))
	}
	if kcv := kv.Version(rep.KnownCommittedVersion); kcv > s.knownCommitted {
		s.knownCommitted = kcv
	}
	applied := s.version
	var touched []touch
	for _, vm := range rep.Messages {
		v := kv.Version(vm.Version)
		if v <= applied {
			continue // already applied: a peek is answered from a version we asked for
		}
		for _, wm := range vm.Mutations {
			m, ok := s.ownPart(kv.Mutation{Type: kv.MutationType(wm.Type), Key: wm.Key, Param: wm.Param})
			if !ok {
				continue
			}
			if err := s.store.apply(v, m); err != nil {
				s.env.Trace(flow.SevError, "StorageBadMutation", flow.D("ID", s.id), flow.D("Version", v),
					flow.D("Mutation", m.String()), flow.D("Error", err.Error()))
				continue
			}
			s.mutations.Inc()
			s.inputCounter.Add(uint64(m.Size()))
			s.bytesInput += int64(m.Size())
			if s.watches.count > 0 {
				touched = append(touched, touchOf(v, m))
			}
		}
		applied = v
	}
	if end := kv.Version(rep.End) - 1; end > applied {
		applied = end
	}
	s.advance(applied)
	s.fireWatches(touched)
	return nil
}

// ownPart returns the part of m inside the server's shard: a clear range
// clipped to it, other mutations only when their key is in it.
func (s *Server) ownPart(m kv.Mutation) (kv.Mutation, bool) {
	if m.Type != kv.ClearRange {
		return m, s.shard.Contains(m.Key)
	}
	r := kv.KeyRange{Begin: m.Key, End: m.Param}
	if !r.Intersects(s.shard) {
		return m, false
	}
	if bytes.Compare(r.Begin, s.shard.Begin) < 0 {
		r.Begin = s.shard.Begin
	}
	if bytes.Compare(r.End, s.shard.End) > 0 {
		r.End = s.shard.End
	}
	return kv.Mutation{Type: kv.ClearRange, Key: r.Begin, Param: r.End}, true
}

// makeDurable periodically commits the versions older than the MVCC window
// to the engine with the new durable version, drops them from memory and
// pops them from the log. It never goes past the largest known committed
// version the logs reported: a version above it may be rolled back by a
// recovery, so it must stay in memory where it can be.
func (s *Server) makeDurable(c *flow.Ctx) error {
	for {
		if err := c.Sleep(s.knobs.CommitInterval); err != nil {
			return err
		}
		target := min(s.version-s.knobs.MVCCWindow, s.knownCommitted)
		if target <= s.durable {
			continue
		}
		b := s.eng.NewBatch()
		n := s.store.durableBatch(b, target)
		b.Set(durableVersionKey, encodeVersion(target))
		// The engine moves to target while the commit runs, so reads below
		// it could see a mix: they are refused from now on.
		s.oldest = target
		s.committing = target
		err := s.eng.Commit(c, b)
		s.committing = 0
		if err != nil {
			return err
		}
		s.store.forget(target)
		s.durable = target
		s.durableCounter.Add(uint64(n))
		s.bytesDurable += n
		s.env.Trace(flow.SevDebug, "StorageDurable", flow.D("ID", s.id), flow.D("DurableVersion", target),
			flow.D("Version", s.version), flow.D("Bytes", n), flow.D("QueueBytes", s.store.queueBytes))
		// The pops need no answer: a lost one is covered by the next. Every
		// log holds the tag, so every log is popped.
		for _, l := range s.logs {
			l.pop.GetReply(s.env, &wire.TLogPopRequest{Tag: s.tag, To: int64(target)})
		}
	}
}
