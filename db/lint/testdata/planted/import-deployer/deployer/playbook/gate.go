package playbook

import (
	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/server/controller"
)

var (
	_ client.Database
	_ controller.Controller
)
