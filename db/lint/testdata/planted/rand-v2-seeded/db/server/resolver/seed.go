package resolver

import "math/rand/v2"

var source rand.Source = rand.NewPCG(1, 2)
