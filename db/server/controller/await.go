package controller

import (
	"time"

	"github.com/strata-db/strata/db/flow"
	"google.golang.org/protobuf/proto"
)

// awaitUntil waits until every future is ready or d passed.
func awaitUntil[T any](c *flow.Ctx, fs []flow.Future[T], d time.Duration) error {
	deadline := c.Delay(d)
	for _, f := range fs {
		if _, err := flow.Select(c, f, deadline); err != nil {
			return err
		}
		if deadline.IsReady() {
			return nil
		}
	}
	return nil
}

// awaitFirstSuccess waits until a future succeeded, every one is ready, or
// d passed.
func awaitFirstSuccess[T any](c *flow.Ctx, fs []flow.Future[T], d time.Duration) error {
	deadline := c.Delay(d)
	for !deadline.IsReady() {
		pending := []flow.Waitable{deadline}
		for _, f := range fs {
			if !f.IsReady() {
				pending = append(pending, f)
			} else if f.Err() == nil {
				return nil
			}
		}
		if len(pending) == 1 {
			return nil
		}
		if _, err := flow.Select(c, pending...); err != nil {
			return err
		}
	}
	return nil
}

// awaitTimeout waits for f for at most d.
func awaitTimeout[T any](c *flow.Ctx, f flow.Future[T], d time.Duration) (T, error) {
	var zero T
	if _, err := flow.Select(c, f, c.Delay(d)); err != nil {
		return zero, err
	}
	if !f.IsReady() {
		return zero, flow.ErrTimedOut
	}
	return f.Get()
}

func endpoint(addr string, token uint64) flow.Endpoint {
	return flow.Endpoint{Addr: flow.Address(addr), Token: token}
}

// deterministic marshals the coordinated state and system-key values with
// sorted maps, so equal states are equal bytes (and simulations repeat).
var deterministic = proto.MarshalOptions{Deterministic: true}
