package main

import (
	"github.com/strata-db/strata/db/server/storage"
	"github.com/strata-db/strata/deployer/health"
	"github.com/strata-db/strata/tui"
)

var _ storage.Env
var _ health.Gate
var _ tui.Model

func main() {}
