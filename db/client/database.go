package client

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// Config configures a Database.
type Config struct {
	// OpenDatabaseToken is the token at which the entry addresses serve
	// OpenDatabaseRequest -> ClientDBInfo.
	OpenDatabaseToken uint64
	// Defaults are the options new transactions start with; nil means
	// DefaultOptions().
	Defaults *Options
	// MaxWatches bounds the outstanding watches (default 10,000, at most
	// 1,000,000).
	MaxWatches int
	// LocationBatch is how many shard locations to fetch on a cache miss
	// (default 100).
	LocationBatch int
	// Cluster, if set, names the coordinators, through which the special
	// key \xff\xff/status/json finds the cluster controller. The database
	// follows them when they move (FoundationDB's coordinators_changed):
	// it switches to the connection string they forward to and opens the
	// database through the new coordinators.
	Cluster *ClusterInfo
	// OnCoordinatorsChanged, if set, persists each connection string the
	// database follows (the Go layer rewrites the cluster file it was
	// opened with). It runs on the database's loop, one call at a time.
	OnCoordinatorsChanged func(c *flow.Ctx, cf clusterfile.ClusterFile) error
}

// Database is a connection to a cluster on the flow runtime: it keeps the
// cluster's ClientDBInfo fresh, batches read version requests, caches
// shard locations and creates transactions. It belongs to one process's
// loop.
type Database struct {
	env      *flow.Env
	cfg      Config
	defaults Options
	entry    []flow.Address

	info        *wire.ClientDBInfo
	infoChanged flow.Promise[struct{}]
	monitor     *flow.Actor

	grv       map[Priority]*grvQueue
	locations locationCache
	watches   int
	special   specialKeys
	// clusterFileStale is set when persisting the connection string the
	// database follows failed (status: cluster_file.up_to_date).
	clusterFileStale bool
}

const (
	// maxWatchesLimit is FDB's ABSOLUTE_MAX_WATCHES.
	maxWatchesLimit = 1_000_000
	// maxKeyspace is the end of every key (FDB's allKeys.end).
	maxKeyspaceByte = 0xff
)

var maxKeyspace = []byte{maxKeyspaceByte, maxKeyspaceByte}

// ErrNoEntryAddresses is returned by NewDatabase without entry addresses.
var ErrNoEntryAddresses = errors.New("client: no entry addresses to open the database at")

// NewDatabase opens the database whose ClientDBInfo is served at entry
// (tried in turn) and starts keeping it fresh. It must be called with the
// loop's baton.
func NewDatabase(env *flow.Env, entry []flow.Address, cfg Config) (*Database, error) {
	if len(entry) == 0 {
		return nil, ErrNoEntryAddresses
	}
	if cfg.MaxWatches == 0 {
		cfg.MaxWatches = 10_000
	}
	if cfg.MaxWatches < 0 || cfg.MaxWatches > maxWatchesLimit {
		return nil, fmt.Errorf("max watches %d not in [1, %d]: %w", cfg.MaxWatches, maxWatchesLimit, kv.ErrInvalidOptionValue)
	}
	if cfg.LocationBatch <= 0 {
		cfg.LocationBatch = 100
	}
	d := &Database{
		env: env, cfg: cfg, defaults: DefaultOptions(), entry: append([]flow.Address(nil), entry...),
		infoChanged: flow.NewPromise[struct{}](), grv: map[Priority]*grvQueue{},
	}
	if cfg.Defaults != nil {
		d.defaults = *cfg.Defaults
	}
	if cfg.Cluster != nil {
		// The database follows the coordinators: a copy, so the
		// caller's ClusterInfo is not changed under it.
		ci := *cfg.Cluster
		d.cfg.Cluster = &ci
	}
	d.monitor = env.Spawn("MonitorClientDBInfo", d.monitorInfo)
	if d.cfg.Cluster != nil {
		if err := d.startFollowing(); err != nil {
			d.monitor.Cancel()
			return nil, err
		}
	}
	return d, nil
}

// Close stops keeping the database's information fresh. Transactions in
// flight fail as their requests do.
func (d *Database) Close() {
	d.monitor.Cancel()
	d.special.stop()
}

// CreateTransaction returns a new transaction with the database's default
// options.
func (d *Database) CreateTransaction() *Transaction { return newTransaction(d.env, d, d.defaults) }

// Transact runs fn in a transaction and commits it, retrying as OnError
// allows. fn must block only on c.
func (d *Database) Transact(c *flow.Ctx, fn func(tr *Transaction) error) error {
	return d.CreateTransaction().run(c, fn, true)
}

// ReadTransact runs fn in a transaction without committing it, retrying
// as OnError allows.
func (d *Database) ReadTransact(c *flow.Ctx, fn func(tr *Transaction) error) error {
	return d.CreateTransaction().run(c, fn, false)
}

// run is the retry loop: fn, commit, and OnError until success or an
// error OnError returns.
func (tr *Transaction) run(c *flow.Ctx, fn func(tr *Transaction) error, commit bool) error {
	for {
		err := fn(tr)
		if err == nil && commit {
			err = tr.Commit(c)
		}
		if err == nil {
			return nil
		}
		if err := tr.OnError(c, err); err != nil {
			return err
		}
	}
}

// monitorInfo long-polls the entry addresses for ClientDBInfo.
func (d *Database) monitorInfo(c *flow.Ctx) error {
	codecReq, codecRep := flow.ProtoCodec[*wire.OpenDatabaseRequest](), flow.ProtoCodec[*wire.ClientDBInfo]()
	next := d.env.Rand().IntN(len(d.entry))
	backoff := 50 * time.Millisecond
	for {
		var known uint64
		if d.info != nil {
			known = d.info.Generation
		}
		ep := flow.Endpoint{Addr: d.entry[next%len(d.entry)], Token: d.cfg.OpenDatabaseToken}
		info, err := flow.Await(c, flow.NewRequestStream(ep, codecReq, codecRep).GetReply(d.env, &wire.OpenDatabaseRequest{KnownGeneration: known}))
		if errors.Is(err, flow.ErrOperationCancelled) {
			return nil
		}
		if err != nil {
			d.env.Trace(flow.SevWarn, "ClientOpenDatabaseFailed", flow.D("Entry", ep.Addr), flow.D("Error", err.Error()))
			next++
			if err := c.Sleep(backoff); err != nil {
				return nil
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		if d.info != nil && info.Generation < d.info.Generation {
			// Every server process publishes ClientDBInfo; one cut off
			// from the controller still has an older generation's. Never
			// go back to it: ask another.
			d.env.Trace(flow.SevInfo, "ClientDBInfoStale", flow.D("Entry", ep.Addr),
				flow.D("Generation", info.Generation), flow.D("Known", d.info.Generation))
			next++
			if err := c.Sleep(backoff); err != nil {
				return nil
			}
			backoff = min(backoff*2, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if info.Generation == known {
			// A long poll that brought nothing new: ask the next entry
			// next time. An entry cut off from the controller answers so
			// forever, with the generation it last had; a client that
			// opened the database through it would otherwise never learn
			// of a newer one.
			next++
		}
		if d.info == nil || info.Generation != d.info.Generation || !sameProxies(d.info, info) {
			d.info = info
			d.env.Trace(flow.SevInfo, "ClientDBInfoChanged", flow.D("Generation", info.Generation),
				flow.D("GrvProxies", len(info.GrvProxies)), flow.D("CommitProxies", len(info.CommitProxies)))
			changed := d.infoChanged
			d.infoChanged = flow.NewPromise[struct{}]()
			changed.Send(struct{}{})
		}
	}
}

func sameProxies(a, b *wire.ClientDBInfo) bool {
	if len(a.GrvProxies) != len(b.GrvProxies) || len(a.CommitProxies) != len(b.CommitProxies) {
		return false
	}
	for i := range a.GrvProxies {
		if a.GrvProxies[i].GetId() != b.GrvProxies[i].GetId() {
			return false
		}
	}
	for i := range a.CommitProxies {
		if a.CommitProxies[i].GetId() != b.CommitProxies[i].GetId() {
			return false
		}
	}
	return true
}

// grvProxy returns a random GRV proxy, waiting for ClientDBInfo to name one.
func (d *Database) grvProxy(c *flow.Ctx) (*wire.GrvProxyInterface, error) {
	for {
		if p, ok := d.someGRVProxy(); ok {
			return p, nil
		}
		if _, err := flow.Await(c, d.infoChanged.Future()); err != nil {
			return nil, err
		}
	}
}

// someGRVProxy returns a random GRV proxy of the latest ClientDBInfo, if
// it names any.
func (d *Database) someGRVProxy() (*wire.GrvProxyInterface, bool) {
	if d.info == nil || len(d.info.GrvProxies) == 0 {
		return nil, false
	}
	ps := d.info.GrvProxies
	return ps[d.env.Rand().IntN(len(ps))], true
}

// commitProxy returns a random commit proxy, waiting for one.
func (d *Database) commitProxy(c *flow.Ctx) (*wire.CommitProxyInterface, error) {
	for d.info == nil || len(d.info.CommitProxies) == 0 {
		if _, err := flow.Await(c, d.infoChanged.Future()); err != nil {
			return nil, err
		}
	}
	return d.randomCommitProxy(), nil
}

// randomCommitProxy picks one of the commit proxies of the latest
// ClientDBInfo, which must name some.
func (d *Database) randomCommitProxy() *wire.CommitProxyInterface {
	ps := d.info.CommitProxies
	return ps[d.env.Rand().IntN(len(ps))]
}

// waitInfoChange waits until ClientDBInfo changes or d passes, whichever
// is first: after a proxy failed, a new generation may replace it.
func (d *Database) waitInfoChange(c *flow.Ctx, wait time.Duration) error {
	_, err := flow.Select(c, d.infoChanged.Future(), c.Delay(wait))
	return err
}

// isEndpointFailure reports whether err says the request's destination is
// gone or unreachable (rather than answering with an error of its own).
func isEndpointFailure(err error) bool {
	for _, e := range []error{flow.ErrRequestMaybeDelivered, flow.ErrEndpointNotFound, flow.ErrBrokenPromise,
		flow.ErrConnectionFailed, kv.ErrAllAlternativesFailed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// commit sends the transaction to a commit proxy. When the proxy fails
// before replying, the outcome is unknown: commit_unknown_result. With a
// proxy known, as almost always, it needs no actor: the reply's callback
// finishes it.
func (d *Database) commit(req commitRequest, abort flow.Future[struct{}]) flow.Future[commitResult] {
	if d.info != nil && len(d.info.CommitProxies) > 0 {
		return d.sendCommit(d.randomCommitProxy(), req)
	}
	out := flow.NewPromise[commitResult]()
	a := d.env.Spawn("WaitForCommitProxy", func(c *flow.Ctx) error {
		p, err := d.commitProxy(c)
		if err != nil {
			out.Fail(err)
			return nil
		}
		d.sendCommit(p, req).OnReady(func(r commitResult, err error) {
			if err != nil {
				out.Fail(err)
			} else {
				out.Send(r)
			}
		})
		return nil
	})
	abort.OnReady(func(struct{}, error) { a.Cancel() })
	return out.Future()
}

// sendCommit sends the transaction to proxy p.
func (d *Database) sendCommit(p *wire.CommitProxyInterface, req commitRequest) flow.Future[commitResult] {
	msg := &wire.CommitTransactionRequest{
		ReadVersion: int64(req.ReadVersion), LockAware: req.LockAware,
		ReadConflictRanges: toWireRanges(req.ReadConflicts), WriteConflictRanges: toWireRanges(req.WriteConflicts),
	}
	msg.Mutations = make([]*wire.Mutation, len(req.Mutations))
	for i, m := range req.Mutations {
		msg.Mutations[i] = &wire.Mutation{Type: uint32(m.Type), Key: m.Key, Param: m.Param}
	}
	ep := flow.Endpoint{Addr: flow.Address(p.Address), Token: p.Commit}
	s := flow.NewRequestStream(ep, flow.ProtoCodec[*wire.CommitTransactionRequest](), flow.ProtoCodec[*wire.CommitTransactionReply]())
	out := flow.NewPromise[commitResult]()
	s.GetReply(d.env, msg).OnReady(func(rep *wire.CommitTransactionReply, err error) {
		switch {
		case err != nil && isEndpointFailure(err):
			out.Fail(fmt.Errorf("commit proxy %s failed: %w", ep.Addr, kv.ErrCommitUnknownResult))
		case err != nil:
			out.Fail(err)
		case rep.BatchIndex > 0xffff:
			out.Fail(fmt.Errorf("commit batch index %d over 16 bits: %w", rep.BatchIndex, flow.ErrInternal))
		default:
			out.Send(commitResult{version: kv.Version(rep.Version), index: uint16(rep.BatchIndex)})
		}
	})
	return out.Future()
}

func toWireRanges(rs []kv.KeyRange) []*wire.KeyRange {
	out := make([]*wire.KeyRange, len(rs))
	for i, r := range rs {
		out[i] = &wire.KeyRange{Begin: r.Begin, End: r.End}
	}
	return out
}

func (d *Database) acquireWatch() bool {
	if d.watches >= d.cfg.MaxWatches {
		return false
	}
	d.watches++
	return true
}

func (d *Database) releaseWatch() { d.watches-- }
