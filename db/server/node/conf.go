package node

import (
	"fmt"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/kv"
)

// Configuration keys (FoundationDB's \xff/conf/ keys; the values are the
// names as text).
var (
	confRedundancyMode = []byte("\xff/conf/redundancy_mode")
	confStorageEngine  = []byte("\xff/conf/storage_engine")
)

// ConfigurationReader reads the database configuration through a client.
type ConfigurationReader struct{ DB *client.Database }

// ReadConfiguration reads the redundancy mode and storage engine keys.
func (r ConfigurationReader) ReadConfiguration(c *flow.Ctx) (redundancy, storageEngine string, err error) {
	tr := r.DB.CreateTransaction()
	tr.Options().SetReadSystemKeys()
	tr.Options().SetLockAware()
	mode, err := tr.Get(c, confRedundancyMode)
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", kv.Printable(confRedundancyMode), err)
	}
	eng, err := tr.Get(c, confStorageEngine)
	if err != nil {
		return "", "", fmt.Errorf("reading %s: %w", kv.Printable(confStorageEngine), err)
	}
	return string(mode), string(eng), nil
}
