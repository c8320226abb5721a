package bench

import (
	"time"

	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/tui"
)

var _ = time.Now
var _ storage.Env
var _ tui.Model
