package commitproxy

import "github.com/strata-db/strata/db/flow"

func reply(out flow.Outbox, v int) {
	out <- v
}
