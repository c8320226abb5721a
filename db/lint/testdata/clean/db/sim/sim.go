package sim

import (
	"math/rand/v2"

	"github.com/strata-db/strata/db/server/storage"
)

var _ = rand.New(rand.NewPCG(1, 2))
var _ storage.Env
