package engine

import "github.com/strata-db/strata/db/kv"

// scanLimits collects a scan's pairs and decides when it must stop, so both
// engines apply Scan's limit and byteLimit rules identically.
type scanLimits struct {
	limit, byteLimit int
	bytes            int
	kvs              []kv.KeyValue
}

// add appends a copy of the pair and reports whether the scan is full.
func (s *scanLimits) add(key, value []byte) (full bool) {
	buf := make([]byte, len(key)+len(value))
	copy(buf, key)
	copy(buf[len(key):], value)
	s.kvs = append(s.kvs, kv.KeyValue{Key: buf[:len(key):len(key)], Value: buf[len(key):]})
	s.bytes += len(key) + len(value)
	if s.limit > 0 && len(s.kvs) >= s.limit {
		return true
	}
	return s.byteLimit > 0 && s.bytes >= s.byteLimit
}
