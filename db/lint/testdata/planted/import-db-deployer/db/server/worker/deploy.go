package worker

import "github.com/strata-db/strata/deployer/plan"

var _ plan.Plan
