package storage

import (
	"slices"
	"sort"
)

// keySet is an ordered set of keys: sorted chunks of at most maxChunk keys,
// so an insert or delete moves at most a chunk and an iterator steps in
// both directions without searching.
type keySet struct {
	chunks [][]string
	n      int
}

const maxChunk = 512

// chunkFor returns the index of the chunk k belongs in.
func (s *keySet) chunkFor(k string) int {
	// The first chunk whose last key is >= k; inserts past the end go to
	// the last chunk.
	i := sort.Search(len(s.chunks), func(i int) bool { c := s.chunks[i]; return c[len(c)-1] >= k })
	if i == len(s.chunks) && i > 0 {
		i--
	}
	return i
}

// insert adds k; it reports whether k was new.
func (s *keySet) insert(k string) bool {
	if len(s.chunks) == 0 {
		s.chunks = [][]string{{k}}
		s.n = 1
		return true
	}
	ci := s.chunkFor(k)
	c := s.chunks[ci]
	j, found := slices.BinarySearch(c, k)
	if found {
		return false
	}
	c = slices.Insert(c, j, k)
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
	ci := s.chunkFor(k)
	c := s.chunks[ci]
	j, found := slices.BinarySearch(c, k)
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

func (s *keySet) at(p keyPos) string { return s.chunks[p.c][p.i] }

// seekGE returns the position of the first key >= k (invalid if none).
func (s *keySet) seekGE(k string) keyPos {
	if len(s.chunks) == 0 {
		return keyPos{c: 0, i: 0}
	}
	ci := s.chunkFor(k)
	j, _ := slices.BinarySearch(s.chunks[ci], k)
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
