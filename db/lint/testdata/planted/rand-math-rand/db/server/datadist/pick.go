package datadist

import "math/rand"

func pick(n int) int { return rand.Intn(n) }
