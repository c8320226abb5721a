package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"strconv"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/kv"
)

// cmdLock locks the database with a fresh UID (kv.DBLockedKey), which it
// prints: only lock_aware transactions commit until `unlock <UID>'.
func cmdLock(in *Interpreter, ctx context.Context, args []string) error {
	if len(args) != 0 {
		return in.usage("lock")
	}
	uid := in.newLockUID()
	in.printf("Locking database with lockUID: %s\n", uid)
	err := in.manage(ctx, true, func(tr Transaction) error {
		v, found, err := tr.Get(ctx, kv.DBLockedKey)
		if err != nil {
			return err
		}
		if found && !bytes.Equal(v, uid[:]) {
			return &finalError{fmt.Errorf("the database is already locked: %w", kv.ErrDatabaseLocked)}
		}
		tr.Set(kv.DBLockedKey, uid[:])
		return nil
	})
	if err != nil {
		return err
	}
	in.printf("Database locked.\n")
	return nil
}

// newLockUID returns a random lock UID (tests may fix it).
func (in *Interpreter) newLockUID() kv.LockUID {
	var uid kv.LockUID
	if in.lockUIDs != nil {
		return in.lockUIDs()
	}
	_, _ = rand.Read(uid[:]) // crypto/rand.Read never fails
	return uid
}

// cmdUnlock clears the lock if it holds UID; a lock with another UID stays
// and fails the command with database_locked, as fdbcli.
func cmdUnlock(in *Interpreter, ctx context.Context, args []string) error {
	if len(args) != 1 {
		return in.usage("unlock")
	}
	uid, err := kv.ParseLockUID(args[0])
	if err != nil {
		return in.usage("unlock")
	}
	err = in.manage(ctx, true, func(tr Transaction) error {
		v, found, err := tr.Get(ctx, kv.DBLockedKey)
		if err != nil || !found {
			return err
		}
		if held, derr := kv.DecodeLockUID(v); derr != nil || held != uid {
			return &finalError{fmt.Errorf("the database is locked with another UID: %w", kv.ErrDatabaseLocked)}
		}
		tr.Clear(kv.DBLockedKey)
		return nil
	})
	if err != nil {
		return err
	}
	in.printf("Database unlocked.\n")
	return nil
}

// cmdMaintenance shows, starts or ends maintenance of a zone
// (kv.HealthyZoneKey): while on, data distribution does not move data away
// from the zone's failed servers, until the given seconds have passed.
func cmdMaintenance(in *Interpreter, ctx context.Context, args []string) error {
	switch {
	case len(args) == 0:
		return in.showMaintenance(ctx)
	case len(args) == 1 && args[0] == "off":
		return in.manage(ctx, true, func(tr Transaction) error {
			tr.Clear(kv.HealthyZoneKey)
			return nil
		})
	case len(args) == 3 && args[0] == "on":
		secs, err := strconv.ParseInt(args[2], 10, 64)
		if err != nil || secs < 0 || secs > 1<<31 {
			in.errorf("Couldn't parse seconds `%s'", showToken(args[2]))
			return errPrinted
		}
		zone := args[1]
		in.warnUnknownZone(ctx, zone)
		return in.manage(ctx, true, func(tr Transaction) error {
			rv, err := tr.GetReadVersion(ctx)
			if err != nil {
				return err
			}
			until := rv + kv.Version(secs)*kv.VersionsPerSecond
			tr.Set(kv.HealthyZoneKey, kv.EncodeHealthyZone(kv.HealthyZone{Zone: zone, Until: until}))
			return nil
		})
	}
	return in.usage("maintenance")
}

func (in *Interpreter) showMaintenance(ctx context.Context) error {
	var (
		zone  kv.HealthyZone
		left  kv.Version
		found bool
	)
	err := in.manage(ctx, false, func(tr Transaction) error {
		v, ok, err := tr.Get(ctx, kv.HealthyZoneKey)
		if err != nil || !ok {
			found = false
			return err
		}
		if zone, err = kv.DecodeHealthyZone(v); err != nil {
			return err
		}
		rv, err := tr.GetReadVersion(ctx)
		if err != nil {
			return err
		}
		left, found = zone.Until-rv, zone.Until > rv
		return nil
	})
	if err != nil {
		return err
	}
	if !found {
		in.printf("No ongoing maintenance.\n")
		return nil
	}
	in.printf("Maintenance for zone %s will continue for %d seconds.\n", printable([]byte(zone.Zone)), left/kv.VersionsPerSecond)
	return nil
}

// warnUnknownZone warns when status lists no process in zone (a typo
// would otherwise silently protect nothing).
func (in *Interpreter) warnUnknownZone(ctx context.Context, zone string) {
	st, err := in.clusterStatus(ctx)
	if err != nil {
		return
	}
	for _, p := range st.Cluster.Processes {
		if client.FaultZone(p) == zone {
			return
		}
	}
	fmt.Fprintf(in.cfg.Err, "WARNING: no process of the cluster is in zone `%s'\n", printable([]byte(zone)))
}
