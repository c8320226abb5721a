package tui

import "github.com/strata-db/strata/db/server/storage"

var _ storage.Server
