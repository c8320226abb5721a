package node

import (
	"fmt"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
	"github.com/strata-db/strata/db/server/controller"
)

// ConfigurationReader reads the database's management keys through a
// client: \xff/conf/ (configuration and exclusions) and \xff/healthyZone.
type ConfigurationReader struct{ DB *client.Database }

// maxConfRows bounds the configuration range read: a configuration has a
// handful of keys; the rest are exclusions.
const maxConfRows = 10_000

// ReadConfiguration reads the configuration, exclusions and maintenance
// zone in one transaction.
func (r ConfigurationReader) ReadConfiguration(c *flow.Ctx) (controller.Settings, error) {
	var st controller.Settings
	tr := r.DB.CreateTransaction()
	tr.Options().SetReadSystemKeys()
	tr.Options().SetLockAware()
	conf := kv.PrefixRange(kv.ConfPrefix)
	rows, err := tr.GetRange(c, conf.Begin, conf.End, client.RangeOptions{Limit: maxConfRows})
	if err != nil {
		return st, fmt.Errorf("reading %s: %w", kv.Printable(kv.ConfPrefix), err)
	}
	cfg, err := kv.DecodeConfiguration(rows)
	if err != nil {
		return st, err
	}
	st.RedundancyMode, st.StorageEngine = cfg.RedundancyMode, cfg.StorageEngine
	st.Roles = controller.RoleCounts{CommitProxies: cfg.CommitProxies, GRVProxies: cfg.GRVProxies,
		Resolvers: cfg.Resolvers, Logs: cfg.Logs}
	for _, row := range rows {
		if e, _, err := kv.DecodeExclusionKey(row.Key); err == nil {
			st.Exclusions = append(st.Exclusions, e)
		}
	}
	hz, err := tr.Get(c, kv.HealthyZoneKey)
	if err != nil {
		return st, fmt.Errorf("reading %s: %w", kv.Printable(kv.HealthyZoneKey), err)
	}
	if hz != nil {
		z, err := kv.DecodeHealthyZone(hz)
		if err == nil {
			st.Maintenance = &z
		}
	}
	return st, nil
}

// ReadCoordinators reads the connection string `coordinators` asked for
// (kv.CoordinatorsKey; "" if never written), so the controller moves the
// cluster to it (controller.CoordinatorsReader).
func (r ConfigurationReader) ReadCoordinators(c *flow.Ctx) (string, error) {
	tr := r.DB.CreateTransaction()
	tr.Options().SetReadSystemKeys()
	tr.Options().SetLockAware()
	v, err := tr.Get(c, kv.CoordinatorsKey)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", kv.Printable(kv.CoordinatorsKey), err)
	}
	return string(v), nil
}
