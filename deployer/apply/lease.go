package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
)

// LeaseKey holds the lease of the deployer run changing the cluster. The
// state lock guards one operator's machine; the lease guards the cluster
// itself against operators with separate state files.
const LeaseKey = "\xff/deployer/lease"

// Lease says which run may change the cluster until when.
type Lease struct {
	ID      string    `json:"id"`
	Who     string    `json:"who"`
	Op      string    `json:"operation"`
	Expires time.Time `json:"expires"`
}

// LeaseHeldError is returned when another run holds an unexpired lease.
type LeaseHeldError struct{ Holder Lease }

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("the cluster is leased by %s (%s, lease %s) until %s; another deployer run is changing it. "+
		"If that run is gone, wait for the lease to expire or rerun with -ignore-lease",
		e.Holder.Who, e.Holder.Op, e.Holder.ID, e.Holder.Expires.UTC().Format(time.RFC3339))
}

// AcquireLease writes l unless another run's lease is still valid at now.
func (db Database) AcquireLease(ctx context.Context, l Lease, now time.Time) error {
	var held *Lease
	_, err := db.run(ctx, func(c *flow.Ctx, d *client.Database) error {
		return d.Transact(c, func(tr *client.Transaction) error {
			held = nil
			cur, err := readLease(c, tr)
			if err != nil {
				return err
			}
			if cur != nil && cur.ID != l.ID && now.Before(cur.Expires) {
				held = cur
				return nil
			}
			data, err := json.Marshal(l)
			if err != nil {
				return err
			}
			tr.Set([]byte(LeaseKey), data)
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("taking the cluster lease: %w", err)
	}
	if held != nil {
		return &LeaseHeldError{Holder: *held}
	}
	return nil
}

// ReleaseLease clears the lease if it is still id's.
func (db Database) ReleaseLease(ctx context.Context, id string) error {
	_, err := db.run(ctx, func(c *flow.Ctx, d *client.Database) error {
		return d.Transact(c, func(tr *client.Transaction) error {
			cur, err := readLease(c, tr)
			if err != nil || cur == nil || cur.ID != id {
				return err
			}
			tr.Clear([]byte(LeaseKey))
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("releasing the cluster lease: %w", err)
	}
	return nil
}

// ReadLease returns the current lease, or nil.
func (db Database) ReadLease(ctx context.Context) (*Lease, error) {
	var l *Lease
	_, err := db.run(ctx, func(c *flow.Ctx, d *client.Database) error {
		return d.ReadTransact(c, func(tr *client.Transaction) error {
			var err error
			l, err = readLease(c, tr)
			return err
		})
	})
	return l, err
}

func readLease(c *flow.Ctx, tr *client.Transaction) (*Lease, error) {
	v, err := tr.Get(c, []byte(LeaseKey))
	if err != nil || v == nil {
		return nil, err
	}
	var l Lease
	if err := json.Unmarshal(v, &l); err != nil {
		// A damaged lease protects nothing; it is overwritten.
		return nil, nil
	}
	return &l, nil
}
