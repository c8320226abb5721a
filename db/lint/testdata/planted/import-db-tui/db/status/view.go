package status

import (
	"fmt"

	view "github.com/strata-db/strata/tui/view"
)

var _ = fmt.Sprint(view.Model{})
