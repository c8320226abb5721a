package storage

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sort"
	"strings"
)

// keySet is an ordered set of keys: sorted chunks of at most maxChunk keys,
// so an insert or delete moves at most a chunk and an iterator steps in
// both directions without searching.
type keySet struct {
	chunks [][]keyEntry
	n      int
}

const maxChunk = 128

// keyEntry is a key with its first 16 bytes kept inline (big-endian,
// zero-padded), so that most comparisons of a search end without reading
// the key's bytes, a cache miss away: with random writes over a window of
// 100,000 keys, those misses were most of a storage server's cost of
// applying a mutation.
type keyEntry struct {
	hi, lo uint64
	key    string
}

func newKeyEntry(k string) keyEntry {
	var b [16]byte
	copy(b[:], k)
	return keyEntry{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:]), key: k}
}

// compare orders entries as their keys: equal inline prefixes (keys alike
// in their first 16 bytes, or differing only in trailing zero bytes) fall
// back to the keys themselves.
func (e keyEntry) compare(o keyEntry) int {
	if e.hi != o.hi {
		return cmp.Compare(e.hi, o.hi)
	}
	if e.lo != o.lo {
		return cmp.Compare(e.lo, o.lo)
	}
	return strings.Compare(e.key, o.key)
}

// chunkFor returns the index of the chunk e belongs in.
func (s *keySet) chunkFor(e keyEntry) int {
	// The first chunk whose last key is >= e; inserts past the end go to
	// the last chunk.
	i := sort.Search(len(s.chunks), func(i int) bool { c := s.chunks[i]; return c[len(c)-1].compare(e) >= 0 })
	if i == len(s.chunks) && i > 0 {
		i--
	}
	return i
}

// insert adds k; it reports whether k was new.
func (s *keySet) insert(k string) bool {
	e := newKeyEntry(k)
	if len(s.chunks) == 0 {
		s.chunks = [][]keyEntry{{e}}
		s.n = 1
		return true
	}
	ci := s.chunkFor(e)
	c := s.chunks[ci]
	j, found := slices.BinarySearchFunc(c, e, keyEntry.compare)
	if found {
		return false
	}
	c = slices.Insert(c, j, e)
	s.n++
	if len(c) > maxChunk {
		half := len(c) / 2
		right := slices.Clone(c[half:])
		c = slices.Clip(c[:half])
		s.chunks = slices.Insert(s.chunks, ci+1, right)
	}
	s.chunks[ci] = c
	return true
}

// remove deletes k if present.
func (s *keySet) remove(k string) {
	if len(s.chunks) == 0 {
		return
	}
	e := newKeyEntry(k)
	ci := s.chunkFor(e)
	c := s.chunks[ci]
	j, found := slices.BinarySearchFunc(c, e, keyEntry.compare)
	if !found {
		return
	}
	c = slices.Delete(c, j, j+1)
	s.n--
	if len(c) == 0 {
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
		return
	}
	s.chunks[ci] = c
}

// keyPos is a position in a keySet: chunk and index. Positions outside the
// set are invalid.
type keyPos struct{ c, i int }

func (s *keySet) valid(p keyPos) bool {
	return p.c >= 0 && p.c < len(s.chunks) && p.i >= 0 && p.i < len(s.chunks[p.c])
}

func (s *keySet) at(p keyPos) string { return s.chunks[p.c][p.i].key }

// seekGE returns the position of the first key >= k (invalid if none).
func (s *keySet) seekGE(k string) keyPos {
	if len(s.chunks) == 0 {
		return keyPos{c: 0, i: 0}
	}
	e := newKeyEntry(k)
	ci := s.chunkFor(e)
	j, _ := slices.BinarySearchFunc(s.chunks[ci], e, keyEntry.compare)
	if j == len(s.chunks[ci]) {
		return keyPos{c: ci + 1, i: 0}
	}
	return keyPos{c: ci, i: j}
}

// seekLT returns the position of the last key < k (invalid if none).
func (s *keySet) seekLT(k string) keyPos {
	return s.prev(s.seekGE(k))
}

func (s *keySet) next(p keyPos) keyPos {
	p.i++
	if p.c < len(s.chunks) && p.i >= len(s.chunks[p.c]) {
		return keyPos{c: p.c + 1, i: 0}
	}
	return p
}

func (s *keySet) prev(p keyPos) keyPos {
	if p.i > 0 {
		p.i--
		return p
	}
	if p.c <= 0 {
		return keyPos{c: -1}
	}
	return keyPos{c: p.c - 1, i: len(s.chunks[p.c-1]) - 1}
}
