package cli

import "github.com/strata-db/strata/playbooks"

var _ = playbooks.FS
