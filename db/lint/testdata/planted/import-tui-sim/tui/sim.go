package tui

import "github.com/strata-db/strata/db/sim"

var _ sim.Run
