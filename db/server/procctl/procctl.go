package procctl

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/wire"
)

// DefaultReplyGrace is the default Config.ReplyGrace.
const DefaultReplyGrace = 100 * time.Millisecond

// MaxDelay bounds a request's delay_seconds, so that a bad request cannot
// schedule a reboot days away.
const MaxDelay = time.Hour

// Config configures a control endpoint.
type Config struct {
	// Token is where it listens; 0 means kv.TokenProcessControl.
	Token uint64
	// ProcessID is returned in replies.
	ProcessID string
	// Reboot ends the process so that its monitor restarts it. Required.
	Reboot func()
	// ReplyGrace is how long Reboot waits after the reply was sent; 0
	// means DefaultReplyGrace.
	ReplyGrace time.Duration
}

// Control is a running control endpoint.
type Control struct {
	cfg      Config
	listener *flow.Listener[*wire.RebootRequest, *wire.RebootReply]
	actor    *flow.Actor
	pending  bool
	requests *flow.Counter
}

// Start listens for control requests on env.
func Start(env *flow.Env, cfg Config) (*Control, error) {
	if cfg.Reboot == nil {
		return nil, errors.New("procctl: Config.Reboot is required")
	}
	if cfg.Token == 0 {
		cfg.Token = kv.TokenProcessControl
	}
	if cfg.ReplyGrace <= 0 {
		cfg.ReplyGrace = DefaultReplyGrace
	}
	c := &Control{
		cfg:      cfg,
		listener: flow.Listen(env, cfg.Token, flow.ProtoCodec[*wire.RebootRequest](), flow.ProtoCodec[*wire.RebootReply]()),
		requests: env.Metrics().Counter("procctl.reboot_requests"),
	}
	c.actor = env.Spawn("ProcCtl.Serve", c.serve)
	return c, nil
}

// Endpoint returns where the endpoint listens.
func (p *Control) Endpoint() flow.Endpoint { return p.listener.Stream().Endpoint() }

// Stop stops answering requests; a reboot already scheduled still happens.
func (p *Control) Stop() {
	p.actor.Cancel()
	p.listener.Close()
}

func (p *Control) serve(c *flow.Ctx) error {
	for {
		r, err := p.listener.Requests().Next(c)
		if err != nil {
			return err
		}
		p.requests.Inc()
		r.Reply(&wire.RebootReply{ProcessId: p.cfg.ProcessID})
		if r.Msg.GetCheckOnly() || p.pending {
			continue
		}
		p.pending = true
		delay := min(time.Duration(r.Msg.GetDelaySeconds())*time.Second, MaxDelay)
		c.Trace(flow.SevWarnAlw, "ProcessRebootRequested", flow.D("DelaySeconds", delay.Seconds()))
		c.Env.Spawn("ProcCtl.Reboot", func(c *flow.Ctx) error {
			if err := c.Sleep(delay + p.cfg.ReplyGrace); err != nil {
				return err
			}
			p.cfg.Reboot()
			return nil
		})
	}
}

// Reboot asks the process at addr to restart after delay (check: only to
// answer), on its well-known control token, within timeout.
func Reboot(c *flow.Ctx, addr flow.Address, delay time.Duration, check bool, timeout time.Duration) (*wire.RebootReply, error) {
	st := flow.NewRequestStream(flow.Endpoint{Addr: addr, Token: kv.TokenProcessControl},
		flow.ProtoCodec[*wire.RebootRequest](), flow.ProtoCodec[*wire.RebootReply]())
	secs := uint32(min(max(delay, 0), MaxDelay) / time.Second)
	rep, err := flow.Timeout(c, st.GetReply(c.Env, &wire.RebootRequest{DelaySeconds: secs, CheckOnly: check}), timeout)
	if err != nil {
		return nil, fmt.Errorf("procctl: reboot request to %s: %w", addr, err)
	}
	return rep, nil
}
