package controller

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strata-db/strata/db/clusterfile"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/server/coordinator"
)

// CoordinatorsReader is implemented by a ConfigurationReader that can also
// read the coordinators the deployer asked for (kv.CoordinatorsKey, the
// connection string `coordinators auto|<addr>...` writes; "" when never
// written). A controller whose Configuration implements it acts on a
// change: it moves the coordinated state to the new coordinators and ends
// its generation (FoundationDB's coordinators_changed), and every process
// follows the old coordinators' forward.
type CoordinatorsReader interface {
	ReadCoordinators(c *flow.Ctx) (string, error)
}

// Timing of a coordinators change.
const (
	// coordinatorsProbeTimeout bounds the check that every new coordinator
	// answers (FoundationDB's changeQuorum waits 5 s as well).
	coordinatorsProbeTimeout = 5 * time.Second
	// coordinatorsMoveTimeout bounds moving the coordinated state; a move
	// that times out is tried again at the next read of the key.
	coordinatorsMoveTimeout = 20 * time.Second
)

// watchCoordinators reads the requested coordinators every
// ConfigurationInterval and moves the cluster to them once the generation
// is recovered.
func (cc *Controller) watchCoordinators(c *flow.Ctx, r CoordinatorsReader) error {
	for {
		if err := c.Sleep(cc.cfg.ConfigurationInterval); err != nil {
			return err
		}
		if gen := cc.gen; gen == nil || gen.failed.IsSet() {
			continue
		}
		want, err := within(c, cc.cfg.ConfigurationInterval, r.ReadCoordinators)
		if errors.Is(err, flow.ErrOperationCancelled) {
			return err
		}
		if err != nil {
			c.Trace(flow.SevInfo, "ControllerCoordinatorsUnread", flow.D("Error", err.Error()))
			continue
		}
		to, ok := cc.coordinatorsRequest(want)
		if !ok {
			continue
		}
		if err := cc.changeCoordinators(c, to); err != nil {
			if errors.Is(err, flow.ErrOperationCancelled) {
				return err
			}
			cc.coordinatorsChangeError = err.Error()
			c.Trace(flow.SevWarnAlw, "CoordinatorsChangeFailed", flow.D("To", to.String()), flow.D("Error", err.Error()))
		}
	}
}

// coordinatorsRequest parses the requested connection string and reports
// whether it asks for a change from the current one.
func (cc *Controller) coordinatorsRequest(want string) (clusterfile.ClusterFile, bool) {
	want = strings.TrimSpace(want)
	if want == "" {
		return clusterfile.ClusterFile{}, false
	}
	to, err := clusterfile.Parse(want)
	if err != nil {
		cc.env.Trace(flow.SevWarnAlw, "CoordinatorsRequestInvalid", flow.D("Value", want), flow.D("Error", err.Error()))
		return to, false
	}
	cur := cc.cfg.Conn.File
	if to.Key() == cur.Key() || to.String() == cur.String() {
		return to, false
	}
	return to, true
}

// changeCoordinators moves the coordinated state to to's coordinators and
// ends the generation: the old coordinators now forward every process to
// the new ones, where the next controller recovers from the moved state.
func (cc *Controller) changeCoordinators(c *flow.Ctx, to clusterfile.ClusterFile) error {
	next := cc.cfg.Conn
	next.File = to
	reach, err := coordinator.Reachable(c, next, coordinatorsProbeTimeout)
	if err != nil {
		return fmt.Errorf("checking the new coordinators: %w", err)
	}
	var down []string
	for i, ok := range reach {
		if !ok {
			down = append(down, to.Coordinators[i].String())
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("new coordinators unreachable: %s", strings.Join(down, ","))
	}
	c.Trace(flow.SevInfo, "CoordinatorsChanging", flow.D("From", cc.cfg.Conn.File.String()), flow.D("To", to.String()))
	_, err = within(c, coordinatorsMoveTimeout, func(c *flow.Ctx) (struct{}, error) {
		return struct{}{}, coordinator.MoveCoordinatedState(c, cc.cfg.Conn, next)
	})
	if err != nil {
		return fmt.Errorf("moving the coordinated state: %w", err)
	}
	cc.coordinatorsChangeError = ""
	c.Trace(flow.SevWarnAlw, "CoordinatorsChanged", flow.D("To", to.String()))
	if gen := cc.gen; gen != nil && !gen.failed.IsSet() {
		gen.failed.Send("coordinators changed to " + to.String())
	}
	return nil
}

// within runs fn as an actor and waits at most d for it; the actor is
// cancelled if it has not finished.
func within[T any](c *flow.Ctx, d time.Duration, fn func(c *flow.Ctx) (T, error)) (T, error) {
	p := flow.NewPromise[T]()
	a := c.Spawn("Controller.Within", func(c *flow.Ctx) error {
		v, err := fn(c)
		if err != nil {
			p.Fail(err)
			return nil
		}
		p.Send(v)
		return nil
	})
	defer a.Cancel()
	return flow.Timeout(c, p.Future(), d)
}

// CoordinatorsChangeError says why the last requested coordinators change
// failed ("" if none did), for status and tests.
func (cc *Controller) CoordinatorsChangeError() string { return cc.coordinatorsChangeError }
