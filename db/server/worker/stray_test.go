package worker_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/worker"
	"github.com/strata-db/strata/db/sim"
	"github.com/strata-db/strata/db/wire"
)

// strayHarness runs a worker's role host in a simulation and plays its
// cluster controller from another process.
type strayHarness struct {
	t    *testing.T
	s    *sim.Simulation
	proc *sim.Process
	host *worker.Host
	cc   *sim.Process
	// log names a transaction log no one runs: the storage servers'
	// peeks fail, which this test does not mind.
	log *wire.TLogInterface
}

func newStrayHarness(t *testing.T) *strayHarness {
	h := &strayHarness{t: t, s: sim.New(5, sim.Options{})}
	h.proc = h.s.AddProcess(h.s.AddMachine(flow.Locality{}), 4500, func(env *flow.Env) {
		h.host = nil
		env.Spawn("Worker", func(c *flow.Ctx) error {
			host, err := worker.StartHost(c, worker.HostConfig{ProcessID: string(env.Address())})
			if err != nil {
				t.Errorf("starting the host: %v", err)
				return err
			}
			h.host = host
			return nil
		})
	})
	h.cc = h.s.AddProcess(h.s.AddMachine(flow.Locality{}), 4500, func(*flow.Env) {})
	h.log = &wire.TLogInterface{Address: "10.9.9.9:1", Id: "nolog", Peek: 1, Pop: 2}
	h.waitHost()
	return h
}

func (h *strayHarness) waitHost() {
	if !h.s.Run(10*time.Second, func() bool { return h.host != nil }) {
		h.t.Fatal("the host did not start")
	}
}

// call sends a request to the host's well-known token and waits for the
// answer.
func call[Req, Rep any](h *strayHarness, token uint64, req Req, reqC flow.Codec[Req], repC flow.Codec[Rep]) (Rep, error) {
	var rep Rep
	var err error
	done := false
	h.cc.Env().Spawn("controller", func(c *flow.Ctx) error {
		s := flow.NewRequestStream(flow.Endpoint{Addr: h.proc.Addr, Token: token}, reqC, repC)
		rep, err = flow.Timeout(c, s.GetReply(c.Env, req), 5*time.Second)
		done = true
		return nil
	})
	if !h.s.Run(10*time.Second, func() bool { return done }) {
		h.t.Fatal("no answer from the host")
	}
	return rep, err
}

func (h *strayHarness) recruitStorage(id string, tag uint32) error {
	_, err := call(h, kv.TokenRecruit, &wire.RecruitRequest{Epoch: 1, Id: id, Role: &wire.RecruitRequest_Storage{
		Storage: &wire.InitStorage{Tag: tag, Logs: []*wire.TLogInterface{h.log}}}},
		flow.ProtoCodec[*wire.RecruitRequest](), flow.ProtoCodec[*wire.RecruitReply]())
	return err
}

func (h *strayHarness) publish(id uint64, members []string, settled uint32) {
	info := &wire.ServerDBInfo{Id: id, Epoch: 1, Logs: []*wire.TLogInterface{h.log}, StorageMembers: members,
		StorageTagsSettled: settled}
	// The first request after a reboot may meet the old connection.
	var err error
	for range 3 {
		if _, err = call(h, kv.TokenServerDBInfo, info,
			flow.ProtoCodec[*wire.ServerDBInfo](), flow.ProtoCodec[*wire.ServerDBInfoReply]()); err == nil {
			break
		}
	}
	if err != nil {
		h.t.Fatalf("publishing: %v", err)
	}
	h.s.Run(time.Second, func() bool { return false }) // let destroys finish
}

func (h *strayHarness) hosted() []string {
	var out []string
	for _, s := range h.host.HostedStorage() {
		out = append(out, s.GetId())
	}
	return out
}

// files lists the host's files of storage server id: its marker and
// everything in its directory.
func (h *strayHarness) files(id string) []string {
	return h.roleFiles("storage-"+id, "roles/storage-"+id)
}

// logFiles lists the host's files of log id.
func (h *strayHarness) logFiles(id string) []string { return h.roleFiles("tlog-"+id, "roles/log-"+id) }

// roleFiles lists the files in dir and the marker file, where present.
func (h *strayHarness) roleFiles(dir, marker string) []string {
	all, err := h.proc.Env().Files().List("")
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if strings.HasPrefix(f, dir+"/") || f == marker {
			out = append(out, f)
		}
	}
	return out
}

// A storage server whose recruitment the controller gave up on (its tag
// settled without it in the list) is destroyed, files and all, and does
// not come back when the process restarts; members and servers whose tag
// is still being handed out are kept.
func TestHostDestroysStrayStorage(t *testing.T) {
	h := newStrayHarness(t)
	for _, r := range []struct {
		id  string
		tag uint32
	}{{"stray", 7}, {"member", 8}, {"pending", 9}} {
		if err := h.recruitStorage(r.id, r.tag); err != nil {
			t.Fatalf("recruiting %s: %v", r.id, err)
		}
	}
	h.publish(11, []string{"member"}, 7)
	if got := h.hosted(); !slices.Equal(got, []string{"member", "pending", "stray"}) {
		t.Fatalf("with tag 7 unsettled the host keeps %v", got)
	}
	if len(h.files("stray")) == 0 {
		t.Fatal("the stray storage server has no files to begin with")
	}
	h.publish(12, []string{"member"}, 9)
	if got := h.hosted(); !slices.Equal(got, []string{"member", "pending"}) {
		t.Fatalf("with tags below 9 settled the host keeps %v, want member and pending", got)
	}
	if f := h.files("stray"); len(f) != 0 {
		t.Fatalf("the destroyed server's files remain: %v", f)
	}
	if len(h.files("member")) == 0 {
		t.Fatal("the member's files are gone")
	}

	h.s.Kill(h.proc)
	h.s.Reboot(h.proc, 0)
	h.waitHost()
	h.publish(13, []string{"member", "pending"}, 10)
	if got := h.hosted(); !slices.Equal(got, []string{"member", "pending"}) {
		t.Fatalf("after a restart the host runs %v, want member and pending", got)
	}
}

// A recruitment the controller has given up on by the time the server
// started fails, and leaves nothing behind.
func TestHostRefusesRecruitOfSettledTag(t *testing.T) {
	h := newStrayHarness(t)
	h.publish(11, nil, 5)
	if err := h.recruitStorage("late", 4); err == nil {
		t.Fatal("a recruitment with a settled tag succeeded")
	}
	h.s.Run(time.Second, func() bool { return false })
	if got := h.hosted(); len(got) != 0 {
		t.Fatalf("the host runs %v", got)
	}
	if f := h.files("late"); len(f) != 0 {
		t.Fatalf("the refused server's files remain: %v", f)
	}
}

func (h *strayHarness) recruitLog(epoch uint64, id string) *wire.TLogInterface {
	l, err := h.tryRecruitLog(epoch, id)
	if err != nil {
		h.t.Fatalf("recruiting log %s: %v", id, err)
	}
	return l
}

func (h *strayHarness) tryRecruitLog(epoch uint64, id string) (*wire.TLogInterface, error) {
	rep, err := call(h, kv.TokenRecruit, &wire.RecruitRequest{Epoch: epoch, Id: id, Role: &wire.RecruitRequest_Log{
		Log: &wire.InitLog{}}}, flow.ProtoCodec[*wire.RecruitRequest](), flow.ProtoCodec[*wire.RecruitReply]())
	return rep.GetLog(), err
}

func (h *strayHarness) hostedLogs() []string {
	var out []string
	for _, l := range h.host.HostedLogs() {
		out = append(out, l.GetId())
	}
	return out
}

// A log that a failed recovery attempt recruited, when the retry in the
// same epoch published other logs, is destroyed with its files; the
// published generation's log and one recruited for the next epoch stay.
func TestHostDestroysAbandonedLogs(t *testing.T) {
	h := newStrayHarness(t)
	h.recruitLog(2, "abandoned")
	live := h.recruitLog(2, "live")
	h.recruitLog(3, "next")
	if got := h.hostedLogs(); !slices.Equal(got, []string{"abandoned", "live", "next"}) {
		t.Fatalf("before any publication the host runs logs %v", got)
	}
	if len(h.logFiles("abandoned")) == 0 {
		t.Fatal("the abandoned log has no files to begin with")
	}
	info := &wire.ServerDBInfo{Id: 21, Epoch: 2, Logs: []*wire.TLogInterface{live}}
	if _, err := call(h, kv.TokenServerDBInfo, info,
		flow.ProtoCodec[*wire.ServerDBInfo](), flow.ProtoCodec[*wire.ServerDBInfoReply]()); err != nil {
		t.Fatalf("publishing: %v", err)
	}
	h.s.Run(time.Second, func() bool { return false }) // let destroys finish
	if got := h.hostedLogs(); !slices.Equal(got, []string{"live", "next"}) {
		t.Fatalf("after epoch 2 named only its live log the host runs logs %v", got)
	}
	if f := h.logFiles("abandoned"); len(f) != 0 {
		t.Fatalf("the abandoned log's files remain: %v", f)
	}
	if len(h.logFiles("live")) == 0 {
		t.Fatal("the live log's files are gone")
	}

	// A log of epoch 2 whose seeding ends after epoch 2 was published
	// without it is destroyed at once: no later publication names it.
	if _, err := h.tryRecruitLog(2, "late"); err == nil {
		t.Fatal("recruiting a log into an epoch published without it succeeded")
	}
	h.s.Run(time.Second, func() bool { return false })
	if got := h.hostedLogs(); !slices.Equal(got, []string{"live", "next"}) {
		t.Fatalf("after a late log of epoch 2 the host runs logs %v", got)
	}
	if f := h.logFiles("late"); len(f) != 0 {
		t.Fatalf("the late log's files remain: %v", f)
	}
}

// A storage server that stopped (here: its log popped its tag past its
// version) answers data distribution as no server at all, so that its
// shards are copied from their other replicas and it is retired; answering
// with the shards it held would keep it in their teams, serving nothing
// and popping nothing.
func TestHostDisownsStoppedStorage(t *testing.T) {
	h := newStrayHarness(t)
	const peekToken, popToken = 71, 72
	popped := false // the log has popped the tag far ahead
	h.cc.Env().Spawn("FakeLog", func(c *flow.Ctx) error {
		peeks := flow.Listen(c.Env, peekToken, flow.ProtoCodec[*wire.TLogPeekRequest](), flow.ProtoCodec[*wire.TLogPeekReply]())
		for {
			r, err := peeks.Requests().Next(c)
			if err != nil {
				return err
			}
			if !popped {
				if err := c.Sleep(100 * time.Millisecond); err != nil {
					return err
				}
				r.Reply(&wire.TLogPeekReply{End: r.Msg.GetBegin()})
				continue
			}
			r.Reply(&wire.TLogPeekReply{End: 1 << 40, Popped: 1 << 40})
		}
	})
	h.log = &wire.TLogInterface{Address: string(h.cc.Addr), Id: "popped", Peek: peekToken, Pop: popToken}
	if err := h.recruitStorage("stopped", 3); err != nil {
		t.Fatalf("recruiting: %v", err)
	}
	popped = true
	h.s.Run(5*time.Second, func() bool { return false })
	_, err := call(h, kv.TokenShardControl, &wire.ShardControlRequest{StorageId: "stopped",
		Op: &wire.ShardControlRequest_States{States: &wire.ShardStates{}}},
		flow.ProtoCodec[*wire.ShardControlRequest](), flow.ProtoCodec[*wire.ShardControlReply]())
	var fe *flow.Error
	if !errors.As(err, &fe) || fe.Code != worker.ErrNoSuchStorage.Code {
		t.Fatalf("shard states of a stopped storage server: %v, want no_such_storage_server", err)
	}
}
