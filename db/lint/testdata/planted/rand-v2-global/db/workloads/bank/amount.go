package bank

import "math/rand/v2"

func amount() int64 {
	return rand.Int64N(100)
}
