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

// ErrTagPopped fails a storage server whose tag the logs popped past the
// versions it applied: it lost mutations and must not serve.
var ErrTagPopped = errors.New("its tag was popped past its version")

// ErrTagRetired stops a storage server whose tag the cluster retired.
var ErrTagRetired = errors.New("its tag was retired: the server was removed from the database")

// applyPeek applies a peek reply's versions above the server's version, in
// order and without yielding, then advances the version to the reply's end
// and fires the watches the writes changed.
func (s *Server) applyPeek(rep *wire.TLogPeekReply) error {
	if rep.Popped == kv.RetiredTagPop {
		// The cluster removed this server: its worker destroys it.
		s.env.Trace(flow.SevWarn, "StorageTagRetired", flow.D("ID", s.id), flow.D("Tag", s.tag))
		return fmt.Errorf("storage %s: %w", s.id, ErrTagRetired)
	}
	if kv.Version(rep.Popped) > s.version+1 {
		// The log dropped versions this server never applied: it can never
		// serve a version past its own again. It stops (the caller fails
		// it), so data distribution sees it gone and copies its shards
		// from their other replicas.
		s.env.Trace(flow.SevError, "StoragePeekPopped", flow.D("ID", s.id), flow.D("Version", s.version),
			flow.D("Popped", rep.Popped))
		return fmt.Errorf("storage %s at version %d: %w (popped to %d)", s.id, s.version, ErrTagPopped, rep.Popped)
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
			m := kv.Mutation{Type: kv.MutationType(wm.Type), Key: wm.Key, Param: wm.Param}
			if m.Type == kv.ClearRange && bytes.Compare(m.Key, m.Param) >= 0 {
				continue // an empty clear: nothing to do
			}
			if m.Type == kv.PrivateRemoveShard {
				s.removeAssigned(v, kv.KeyRange{Begin: m.Key, End: m.Param})
				continue
			}
			touched = s.applyMutation(v, m, touched)
			s.mutations.Inc()
			s.inputCounter.Add(uint64(m.Size()))
			s.bytesInput += int64(m.Size())
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
