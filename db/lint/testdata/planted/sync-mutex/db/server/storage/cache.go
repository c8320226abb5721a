package storage

import "sync"

type cache struct {
	mu      sync.Mutex
	entries map[string][]byte
}
