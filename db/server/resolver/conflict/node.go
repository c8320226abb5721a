package conflict

import (
	"encoding/binary"

	"github.com/strata-db/strata/db/kv"
)

// Node sizes. A node splits when it fills up and is refilled from a
// sibling when it drops below a quarter.
const (
	fanout  = 32
	minFill = fanout / 4
)

// bnode is a B+tree node. In a leaf, entry i is a boundary: the segment
// from keys[i] to the next boundary was last written at vers[i]. In an
// inner node, entry i is child kids[i]: keys[i] is the child's first key
// and vers[i] the largest version in the child's subtree. Keys are kept
// with their 8-byte prefixes (pres) so that a search mostly compares
// integers in one contiguous array. Leaves, most of the nodes, have no
// kids array.
type bnode struct {
	n    int
	leaf bool
	pres [fanout]uint64
	keys [fanout]string
	vers [fanout]kv.Version
	kids []*bnode // fanout long in inner nodes, nil in leaves
}

func newLeaf() *bnode  { return &bnode{leaf: true} }
func newInner() *bnode { return &bnode{kids: make([]*bnode, fanout)} }

func newLike(b *bnode) *bnode {
	if b.leaf {
		return newLeaf()
	}
	return newInner()
}

// prefixOf returns k's first 8 bytes, big-endian and zero-padded: if
// prefixOf(a) < prefixOf(b) then a < b; equal prefixes decide nothing.
func prefixOf(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var buf [8]byte
	copy(buf[:], k)
	return binary.BigEndian.Uint64(buf[:])
}

// probe is a key being looked up, with its prefix computed once.
type probe struct {
	pre uint64
	key []byte
}

func newProbe(k []byte) probe { return probe{pre: prefixOf(k), key: k} }

// atOrBefore reports whether entry i's key is <= p.
func (b *bnode) atOrBefore(i int, p probe) bool {
	if b.pres[i] != p.pre {
		return b.pres[i] < p.pre
	}
	return b.keys[i] <= string(p.key)
}

// before reports whether entry i's key is < p.
func (b *bnode) before(i int, p probe) bool {
	if b.pres[i] != p.pre {
		return b.pres[i] < p.pre
	}
	return b.keys[i] < string(p.key)
}

// floor returns the index of the last entry at or before p (-1 if none).
func (b *bnode) floor(p probe) int {
	lo, hi := 0, b.n // entries below lo are <= p, from hi on > p
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if b.atOrBefore(mid, p) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// lastBelow returns the index of the last entry before p (-1 if none).
func (b *bnode) lastBelow(p probe) int {
	lo, hi := 0, b.n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if b.before(mid, p) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

func (b *bnode) maxVersion() kv.Version {
	m := kv.Version(0)
	for _, v := range b.vers[:b.n] {
		m = max(m, v)
	}
	return m
}

// insertAt shifts entries i.. right and puts the given one at i; b must
// have room.
func (b *bnode) insertAt(i int, pre uint64, key string, v kv.Version, kid *bnode) {
	copy(b.pres[i+1:b.n+1], b.pres[i:b.n])
	copy(b.keys[i+1:b.n+1], b.keys[i:b.n])
	copy(b.vers[i+1:b.n+1], b.vers[i:b.n])
	b.pres[i], b.keys[i], b.vers[i] = pre, key, v
	if !b.leaf {
		copy(b.kids[i+1:b.n+1], b.kids[i:b.n])
		b.kids[i] = kid
	}
	b.n++
}

// insertChild puts kid at i, keyed by its first key.
func (b *bnode) insertChild(i int, kid *bnode) {
	b.insertAt(i, kid.pres[0], kid.keys[0], kid.maxVersion(), kid)
}

// removeAt deletes entry i.
func (b *bnode) removeAt(i int) { b.cut(i, i+1) }

// cut deletes entries [from, to), clearing the freed slots so that the
// collector can reclaim what they pointed to.
func (b *bnode) cut(from, to int) {
	copy(b.pres[from:], b.pres[to:b.n])
	copy(b.keys[from:], b.keys[to:b.n])
	copy(b.vers[from:], b.vers[to:b.n])
	n := b.n - (to - from)
	clear(b.keys[n:b.n])
	if !b.leaf {
		copy(b.kids[from:], b.kids[to:b.n])
		clear(b.kids[n:b.n])
	}
	b.n = n
}

// split moves the upper half of a full node into a new right sibling.
func (b *bnode) split() *bnode {
	sib := newLike(b)
	sib.moveFrom(b, b.n/2, b.n, 0)
	return sib
}

// moveFrom moves src's entries [from, to) into b at position at; b must
// have room.
func (b *bnode) moveFrom(src *bnode, from, to, at int) {
	k := to - from
	copy(b.pres[at+k:b.n+k], b.pres[at:b.n])
	copy(b.keys[at+k:b.n+k], b.keys[at:b.n])
	copy(b.vers[at+k:b.n+k], b.vers[at:b.n])
	copy(b.pres[at:at+k], src.pres[from:to])
	copy(b.keys[at:at+k], src.keys[from:to])
	copy(b.vers[at:at+k], src.vers[from:to])
	if !b.leaf {
		copy(b.kids[at+k:b.n+k], b.kids[at:b.n])
		copy(b.kids[at:at+k], src.kids[from:to])
	}
	b.n += k
	src.cut(from, to)
}

// setChild refreshes inner entry i from its child, after the child's
// first key or versions changed.
func (b *bnode) setChild(i int) {
	kid := b.kids[i]
	b.pres[i], b.keys[i], b.vers[i] = kid.pres[0], kid.keys[0], kid.maxVersion()
}

// refill mends child i, which fell below minFill: it is merged with a
// neighbour if both fit in one node, else takes entries from it until the
// two are even. b must have at least two children.
func (b *bnode) refill(i int) {
	l := max(0, i-1) // the left neighbour, or child 0's right one
	r := l + 1
	left, right := b.kids[l], b.kids[r]
	if left.n+right.n < fanout {
		left.moveFrom(right, 0, right.n, left.n)
		b.removeAt(r)
		b.setChild(l)
		return
	}
	even := (left.n + right.n) / 2
	if left.n < even {
		left.moveFrom(right, 0, even-left.n, left.n)
	} else {
		right.moveFrom(left, even, left.n, 0)
	}
	b.setChild(l)
	b.setChild(r)
}

// entry is one boundary, for whole-set rebuilds.
type entry struct {
	key     string
	pre     uint64
	version kv.Version
}

// each calls fn on every boundary in key order.
func (b *bnode) each(fn func(entry)) {
	for i := range b.n {
		if b.leaf {
			fn(entry{key: b.keys[i], pre: b.pres[i], version: b.vers[i]})
		} else {
			b.kids[i].each(fn)
		}
	}
}

// appendAfter appends to out, in key order, up to limit boundaries of b's
// subtree whose keys are after p.
func (b *bnode) appendAfter(p probe, limit int, out []entry) []entry {
	i := b.floor(p)
	if b.leaf {
		for i++; i < b.n && len(out) < limit; i++ {
			out = append(out, entry{key: b.keys[i], pre: b.pres[i], version: b.vers[i]})
		}
		return out
	}
	// Child i holds p; the children after it are wholly after p.
	for i = max(i, 0); i < b.n && len(out) < limit; i++ {
		out = b.kids[i].appendAfter(p, limit, out)
	}
	return out
}

// build makes a tree of the boundaries es (in key order, at least one),
// filling nodes three quarters full so that both inserts and removals have
// room.
func build(es []entry) *bnode {
	var level []*bnode
	for _, chunk := range chunks(len(es)) {
		leaf := newLeaf()
		for _, e := range es[chunk[0]:chunk[1]] {
			leaf.insertAt(leaf.n, e.pre, e.key, e.version, nil)
		}
		level = append(level, leaf)
	}
	for len(level) > 1 {
		var up []*bnode
		for _, chunk := range chunks(len(level)) {
			parent := newInner()
			for _, kid := range level[chunk[0]:chunk[1]] {
				parent.insertChild(parent.n, kid)
			}
			up = append(up, parent)
		}
		level = up
	}
	return level[0]
}

// chunks cuts n items into runs of about 3/4 fanout, none below minFill
// unless n itself is.
func chunks(n int) [][2]int {
	per := fanout * 3 / 4
	count := max(1, (n+per-1)/per)
	var out [][2]int
	for i := range count {
		out = append(out, [2]int{i * n / count, (i + 1) * n / count})
	}
	return out
}
