package storage

import (
	"encoding/binary"
	"fmt"

	"github.com/strata-db/strata/db/kv"
)

// durableVersionKey holds, in the engine, the version the engine's state
// is at (8 bytes big-endian). It sorts after every key a client can write.
var durableVersionKey = []byte("\xff\xff\xff/storage/durableVersion")

func encodeVersion(v kv.Version) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

func decodeVersion(b []byte) (kv.Version, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("durable version record has %d bytes, want 8", len(b))
	}
	return kv.Version(binary.BigEndian.Uint64(b)), nil
}
