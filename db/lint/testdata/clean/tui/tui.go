package tui

import (
	"time"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/status/json"
	"github.com/strata-db/strata/deployer/event"
	"github.com/strata-db/strata/tui/panel"
)

type Model struct{}

var _ = time.Now
var _ client.Database
var _ json.Doc
var _ event.Event
var _ panel.Panel
