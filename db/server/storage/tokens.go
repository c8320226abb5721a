package storage

import (
	"hash/fnv"

	"github.com/strata-db/strata/db/wire"
)

// Offsets of a storage server's endpoint tokens from its base token.
const (
	offGetValue = 1 + iota
	offGetKey
	offGetKeyValues
	offWatchValue
	offShardMetrics
)

// TokenBase returns the base of the endpoint tokens of the storage server
// id: derived from the ID, so a server restarted on the same address
// listens where clients and proxies already send, and their cached
// interfaces stay valid across process restarts. The low byte is left for
// the endpoints' offsets; the top bit keeps it clear of well-known tokens.
func TokenBase(id string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("storage/" + id))
	return h.Sum64()&^0xff | 1<<63
}

// InterfaceAt returns the interface of the storage server id listening at
// addr with tokens from TokenBase(id): what a restarted server answers at.
func InterfaceAt(addr, id string, tag uint32) *wire.StorageInterface {
	base := TokenBase(id)
	return &wire.StorageInterface{
		Address: addr, Id: id, Tag: tag,
		GetValue: base + offGetValue, GetKey: base + offGetKey, GetKeyValues: base + offGetKeyValues,
		WatchValue: base + offWatchValue,
	}
}
