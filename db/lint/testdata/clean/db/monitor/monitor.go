// Package monitor is not role code; only the import rules apply to it.
package monitor

import (
	"time"

	//lint:allow import-db this example shows the escape hatch on an import
	"github.com/strata-db/strata/playbooks"
)

var _ = playbooks.FS
var _ = time.Now
