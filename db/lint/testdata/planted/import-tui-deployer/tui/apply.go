package tui

import "github.com/strata-db/strata/deployer/apply"

var _ apply.Runner
