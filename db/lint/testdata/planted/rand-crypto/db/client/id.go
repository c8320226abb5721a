package client

import "crypto/rand"

func id() string { return rand.Text() }
