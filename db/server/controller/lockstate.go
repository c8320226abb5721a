package controller

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/commitproxy"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// The lock (kv.DBLockedKey) outlives generations through the coordinated
// state: DBCoreState.locked holds it as of the txs tag's popped point, and
// the logs hold every later lock change on kv.TxsTag (the commit proxies
// tag them). A recovery replays what the locked logs hold on top of the
// coordinated state's value; during a generation the controller copies the
// changes into the coordinated state and pops the tag, so the logs can
// reclaim their space.

// lockTimeout bounds one peek or pop of the txs tag.
const lockTimeout = 5 * time.Second

// peekTxs returns the lock mutations of kv.TxsTag from versions in
// (after, upTo] of the log l, in version order, and the version they are
// known up to (upTo unless the log is behind). upTo must be durable on l,
// or the peek waits for it.
func peekTxs(c *flow.Ctx, l *wire.TLogInterface, after, upTo kv.Version) ([]*wire.Mutation, kv.Version, error) {
	s := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(l.GetAddress()), Token: l.GetPeek()},
		flow.ProtoCodec[*wire.TLogPeekRequest](), flow.ProtoCodec[*wire.TLogPeekReply]())
	var out []*wire.Mutation
	known := after
	for {
		rep, err := awaitTimeout(c, s.GetReply(c.Env, &wire.TLogPeekRequest{Tag: kv.TxsTag, Begin: int64(known) + 1}), lockTimeout)
		if err != nil {
			return nil, known, fmt.Errorf("reading the lock changes from log %s: %w", l.GetId(), err)
		}
		for _, vm := range rep.GetMessages() {
			if v := kv.Version(vm.GetVersion()); v > known && v <= upTo {
				out = append(out, vm.GetMutations()...)
			}
		}
		end := kv.Version(rep.GetEnd()) - 1
		if end <= known || end >= upTo {
			return out, max(known, min(end, upTo)), nil
		}
		known = end
	}
}

// replayLock applies lock mutations, in order, to the lock value locked.
func replayLock(locked []byte, muts []*wire.Mutation) []byte {
	for _, mu := range muts {
		locked = commitproxy.LockAfter(locked, mu)
	}
	return locked
}

// recoverLock sets core.Locked to the lock as of the recovery version:
// the coordinated state's value with the lock changes the old generation's
// logs still hold replayed on top. Every acknowledged commit is on every
// locked log up to old.version, so one source suffices.
func (cc *Controller) recoverLock(c *flow.Ctx, core *wire.DBCoreState, old *lockedLogs) error {
	var last error
	for _, src := range old.sources {
		muts, known, err := peekTxs(c, src, 0, old.version)
		if err == nil && known < old.version {
			err = fmt.Errorf("log %s holds the lock changes only to version %d of %d", src.GetId(), known, old.version)
		}
		if err != nil {
			last = err
			continue
		}
		core.Locked = replayLock(core.GetLocked(), muts)
		return nil
	}
	return fmt.Errorf("recovering the lock: %w", last)
}

// syncLock copies the committed lock changes of the current generation's
// logs into the coordinated state, then pops them from every log. Data
// distribution's loop runs it, as the only other writer of the
// coordinated state during a generation.
func (cc *Controller) syncLock(c *flow.Ctx, gen *generation) error {
	if len(gen.logs) == 0 {
		return nil
	}
	// A read version is committed, so durable on every log: the peeks
	// below it are answered at once, and only committed changes reach the
	// coordinated state.
	committed, err := cc.readVersion(c, gen)
	if err != nil || committed <= gen.lockKnown {
		return err
	}
	upTo := gen.lockKnown
	var muts []*wire.Mutation
	for _, l := range gen.logs {
		if muts, upTo, err = peekTxs(c, l, gen.lockKnown, committed); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	if upTo <= gen.lockKnown {
		return nil
	}
	if len(muts) > 0 {
		next := proto.CloneOf(gen.core)
		next.Locked = replayLock(next.GetLocked(), muts)
		if err := cc.writeCore(c, gen, next); err != nil {
			return err
		}
	}
	gen.lockKnown = upTo
	for _, l := range gen.logs {
		s := flow.NewRequestStream(flow.Endpoint{Addr: flow.Address(l.GetAddress()), Token: l.GetPop()},
			flow.ProtoCodec[*wire.TLogPopRequest](), flow.ProtoCodec[*wire.TLogPopReply]())
		s.GetReply(c.Env, &wire.TLogPopRequest{Tag: kv.TxsTag, To: int64(upTo)}) // a lost pop is covered by the next
	}
	return nil
}
