package health

import (
	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/monitor"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/deployer/event"
)

var _ client.Database
var _ monitor.Conf
var _ status.Document
var _ event.Event
