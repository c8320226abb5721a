package tools

import "github.com/strata-db/strata/cmd/strata/internal"

var _ = internal.X
