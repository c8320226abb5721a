package ratekeeper

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/kv"
)

// Targets are the thresholds of one priority. A queue is left alone below
// target minus spring; between there and target plus spring the limit
// tightens with how far the queue is into that band (see the package doc).
type Targets struct {
	// StorageTargetBytes and StorageSpringBytes bound a storage server's
	// queue: the writes it holds in memory, not yet durable.
	StorageTargetBytes, StorageSpringBytes int64
	// LogTargetBytes and LogSpringBytes bound a log's queue: its unpopped
	// data.
	LogTargetBytes, LogSpringBytes int64
	// DurabilityLagTargetVersions and DurabilityLagSpringVersions bound a
	// storage server's version minus its durable version.
	DurabilityLagTargetVersions, DurabilityLagSpringVersions int64
}

// Knobs tune the ratekeeper. Zero fields take the defaults of DefaultKnobs.
type Knobs struct {
	// Default and Batch are the thresholds of default and batch priority;
	// batch ones are lower, so batch work is throttled first.
	Default, Batch Targets
	// UpdateInterval is how often the limits are recomputed from a fresh
	// sample (FoundationDB's METRIC_UPDATE_RATE).
	UpdateInterval time.Duration
	// Lease is how long a proxy may use a granted rate without asking
	// again.
	Lease time.Duration
	// ProxyExpiry is how long a proxy that stopped asking still counts
	// when the cluster's rate is split between proxies.
	ProxyExpiry time.Duration
	// Smoothing is the e-folding time of the released-transaction rate and
	// of the servers' input rates; SlowSmoothing that of their drain rates
	// (FoundationDB's SMOOTHING_AMOUNT and SLOW_SMOOTHING_AMOUNT).
	Smoothing, SlowSmoothing time.Duration
	// MinAvailableSpaceBytes and MinAvailableSpaceRatio are the disk space
	// a server keeps free; the larger of the two applies.
	MinAvailableSpaceBytes int64
	MinAvailableSpaceRatio float64
	// MaxTransactionsPerByte bounds how many transactions one byte of
	// drain is assumed to carry, so a server that drains nothing for a
	// moment does not drive the limit to zero at once.
	MaxTransactionsPerByte float64
	// MaxZonesFallingBehind is how many fault domains of lagging storage
	// servers may be ignored (never more than replicas minus one), so one
	// slow replica does not throttle the cluster. Negative: none.
	MaxZonesFallingBehind int
	// MaxReportedTPS caps the limit shown in status (an unlimited rate
	// has no finite value).
	MaxReportedTPS float64
}

// DefaultKnobs returns FoundationDB's ratekeeper knobs scaled to Strata:
// smaller memory budgets (FDB's storage target is 1,000 MB and its log
// target 2,400 MB; Strata's logs hold their unpopped data in memory, so
// they get a smaller share), and a durability-lag target of the storage
// servers' 5 s MVCC window plus 5 s, where FDB allows 350 s.
func DefaultKnobs() Knobs {
	return Knobs{
		Default: Targets{
			StorageTargetBytes: 250e6, StorageSpringBytes: 25e6,
			LogTargetBytes: 500e6, LogSpringBytes: 80e6,
			DurabilityLagTargetVersions: int64(kv.MVCCWindow) + 5*kv.VersionsPerSecond,
			DurabilityLagSpringVersions: 2 * kv.VersionsPerSecond,
		},
		Batch: Targets{
			StorageTargetBytes: 190e6, StorageSpringBytes: 25e6,
			LogTargetBytes: 300e6, LogSpringBytes: 60e6,
			DurabilityLagTargetVersions: int64(kv.MVCCWindow) + 3*kv.VersionsPerSecond,
			DurabilityLagSpringVersions: 1 * kv.VersionsPerSecond,
		},
		UpdateInterval:         100 * time.Millisecond,
		Lease:                  time.Second,
		ProxyExpiry:            time.Second,
		Smoothing:              time.Second,
		SlowSmoothing:          10 * time.Second,
		MinAvailableSpaceBytes: 100e6,
		MinAvailableSpaceRatio: 0.05,
		MaxTransactionsPerByte: 1000,
		MaxZonesFallingBehind:  1,
		MaxReportedTPS:         1e6,
	}
}

func (t Targets) withDefaults(d Targets) Targets {
	def := func(v *int64, dv int64) {
		if *v == 0 {
			*v = dv
		}
	}
	def(&t.StorageTargetBytes, d.StorageTargetBytes)
	def(&t.StorageSpringBytes, d.StorageSpringBytes)
	def(&t.LogTargetBytes, d.LogTargetBytes)
	def(&t.LogSpringBytes, d.LogSpringBytes)
	def(&t.DurabilityLagTargetVersions, d.DurabilityLagTargetVersions)
	def(&t.DurabilityLagSpringVersions, d.DurabilityLagSpringVersions)
	return t
}

func (t Targets) validate() error {
	for _, p := range [][2]int64{
		{t.StorageTargetBytes, t.StorageSpringBytes},
		{t.LogTargetBytes, t.LogSpringBytes},
		{t.DurabilityLagTargetVersions, t.DurabilityLagSpringVersions},
	} {
		if p[0] <= 0 || p[1] <= 0 || p[1] > p[0] {
			return fmt.Errorf("target %d with spring %d: both must be positive and the spring at most the target", p[0], p[1])
		}
	}
	return nil
}

func (k Knobs) withDefaults() (Knobs, error) {
	d := DefaultKnobs()
	k.Default = k.Default.withDefaults(d.Default)
	k.Batch = k.Batch.withDefaults(d.Batch)
	durations := []*time.Duration{&k.UpdateInterval, &k.Lease, &k.ProxyExpiry, &k.Smoothing, &k.SlowSmoothing}
	defaults := []time.Duration{d.UpdateInterval, d.Lease, d.ProxyExpiry, d.Smoothing, d.SlowSmoothing}
	for i, p := range durations {
		if *p == 0 {
			*p = defaults[i]
		}
		if *p < 0 {
			return k, fmt.Errorf("ratekeeper: negative duration knob %v", *p)
		}
	}
	if k.MinAvailableSpaceBytes == 0 {
		k.MinAvailableSpaceBytes = d.MinAvailableSpaceBytes
	}
	if k.MinAvailableSpaceRatio == 0 {
		k.MinAvailableSpaceRatio = d.MinAvailableSpaceRatio
	}
	if k.MaxTransactionsPerByte == 0 {
		k.MaxTransactionsPerByte = d.MaxTransactionsPerByte
	}
	if k.MaxReportedTPS == 0 {
		k.MaxReportedTPS = d.MaxReportedTPS
	}
	if k.MaxZonesFallingBehind == 0 {
		k.MaxZonesFallingBehind = d.MaxZonesFallingBehind
	}
	if err := k.Default.validate(); err != nil {
		return k, fmt.Errorf("ratekeeper: default-priority knobs: %w", err)
	}
	if err := k.Batch.validate(); err != nil {
		return k, fmt.Errorf("ratekeeper: batch-priority knobs: %w", err)
	}
	if k.MinAvailableSpaceBytes < 0 || k.MinAvailableSpaceRatio < 0 || k.MinAvailableSpaceRatio >= 1 ||
		k.MaxTransactionsPerByte < 0 || k.MaxReportedTPS < 0 {
		return k, fmt.Errorf("ratekeeper: knob out of range in %+v", k)
	}
	return k, nil
}
