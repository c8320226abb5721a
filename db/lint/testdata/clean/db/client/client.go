package client

import (
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/tuple"
)

var _ = status.Document{}
var _ = tuple.Tuple{}
