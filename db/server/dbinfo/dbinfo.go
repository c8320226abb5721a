package dbinfo

import (
	"errors"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// Config parameterises a publisher.
type Config struct {
	// Token is where it listens: a well-known token, or 0 for a fresh
	// dynamic one.
	Token uint64
	// Info is the initial ClientDBInfo.
	Info *wire.ClientDBInfo
	// PollTimeout is how long a request for the current generation waits
	// for a change; 0 means 10s.
	PollTimeout time.Duration
}

// Publisher serves OpenDatabaseRequest.
type Publisher struct {
	cfg      Config
	info     *wire.ClientDBInfo
	changed  flow.Promise[struct{}] // fulfilled (and replaced) when the generation changes
	listener *flow.Listener[*wire.OpenDatabaseRequest, *wire.ClientDBInfo]
	actor    *flow.Actor
	polls    *flow.Counter
}

// New starts a publisher on env.
func New(env *flow.Env, cfg Config) (*Publisher, error) {
	if cfg.Info == nil {
		return nil, errors.New("dbinfo: no initial ClientDBInfo")
	}
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 10 * time.Second
	}
	if cfg.PollTimeout < 0 {
		return nil, errors.New("dbinfo: negative poll timeout")
	}
	p := &Publisher{
		cfg:      cfg,
		info:     proto.CloneOf(cfg.Info),
		changed:  flow.NewPromise[struct{}](),
		listener: flow.Listen(env, cfg.Token, flow.ProtoCodec[*wire.OpenDatabaseRequest](), flow.ProtoCodec[*wire.ClientDBInfo]()),
		polls:    env.Metrics().Counter("dbinfo.open_database_requests"),
	}
	p.actor = env.Spawn("DBInfo.Serve", p.serve)
	return p, nil
}

// Endpoint returns where the publisher listens.
func (p *Publisher) Endpoint() flow.Endpoint { return p.listener.Stream().Endpoint() }

// Info returns a copy of the published info.
func (p *Publisher) Info() *wire.ClientDBInfo { return proto.CloneOf(p.info) }

// Set publishes info. Waiting clients are answered if its generation
// differs from the previous one; a change within one generation reaches
// clients only at their next poll, so bump the generation to push it.
func (p *Publisher) Set(info *wire.ClientDBInfo) {
	old := p.info.GetGeneration()
	p.info = proto.CloneOf(info)
	if info.GetGeneration() != old {
		p.changed.Send(struct{}{})
		p.changed = flow.NewPromise[struct{}]()
	}
}

// Stop stops serving; waiting requests fail with broken_promise.
func (p *Publisher) Stop() {
	p.actor.Cancel()
	p.listener.Close()
	p.changed.Fail(flow.ErrBrokenPromise)
}

func (p *Publisher) serve(c *flow.Ctx) error {
	for {
		r, err := p.listener.Requests().Next(c)
		if err != nil {
			return err
		}
		p.polls.Inc()
		if r.Msg.GetKnownGeneration() != p.info.GetGeneration() {
			r.Reply(p.info)
			continue
		}
		changed := p.changed.Future()
		c.Spawn("DBInfo.LongPoll", func(c *flow.Ctx) error {
			if _, err := flow.Select(c, changed, c.Delay(p.cfg.PollTimeout)); err != nil {
				return err
			}
			if err := changed.Err(); err != nil {
				r.Fail(err)
				return nil
			}
			r.Reply(p.info)
			return nil
		})
	}
}
