package sim

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// disk is one process's simulated data directory. It outlives process
// incarnations. Each file keeps its durable contents and the writes made
// since its last completed sync; when the process dies, a random prefix of
// those writes survives and the last survivor may be torn, as on a real disk
// whose page cache is lost. Directory entries (create, rename, remove) are
// durable at once — a simplification of real filesystems, documented on
// flow.FS as needing SyncDir, which real code must still call.
type disk struct {
	files map[string]*simFile
	// syncLatency bounds how long Sync takes.
	syncLatency time.Duration
}

type simFile struct {
	durable []byte
	current []byte
	pending []diskWrite // applied to current, not yet to durable
	// issued counts the writes ever made to the file, synced those made
	// durable: pending holds writes synced+1..issued, so a Sync that
	// started when issued was n makes exactly the writes up to n durable,
	// however other Syncs overlap it.
	issued, synced int
}

// diskWrite is a write (data at off) or, with truncate set, a truncation.
type diskWrite struct {
	off      int64
	data     []byte
	truncate bool
}

func newDisk(rng *rand.Rand) *disk {
	return &disk{
		files:       map[string]*simFile{},
		syncLatency: 100*time.Microsecond + time.Duration(rng.Int64N(int64(2*time.Millisecond))),
	}
}

func (w diskWrite) apply(b []byte) []byte {
	if w.truncate {
		if int64(len(b)) > w.off {
			return b[:w.off]
		}
		return append(b, make([]byte, w.off-int64(len(b)))...)
	}
	end := w.off + int64(len(w.data))
	if int64(len(b)) < end {
		b = append(b, make([]byte, end-int64(len(b)))...)
	}
	copy(b[w.off:], w.data)
	return b
}

// crash applies what a power loss leaves of unsynced writes: a random
// prefix of them, the last possibly torn at a random byte.
func (d *disk) crash(rng *rand.Rand) (lost int) {
	names := d.names()
	for _, name := range names {
		f := d.files[name]
		keep := rng.IntN(len(f.pending) + 1)
		b := slices.Clone(f.durable)
		for i, w := range f.pending {
			if i == keep {
				if !w.truncate && len(w.data) > 0 && rng.IntN(2) == 0 {
					torn := w
					torn.data = w.data[:rng.IntN(len(w.data))]
					b = torn.apply(b)
				}
				break
			}
			b = w.apply(b)
		}
		lost += len(f.pending) - keep
		f.durable, f.current, f.pending = b, slices.Clone(b), nil
		f.synced = f.issued
	}
	return lost
}

func (d *disk) names() []string {
	names := make([]string, 0, len(d.files))
	for n := range d.files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// fs is the flow.FS of one process incarnation over its disk.
type fs struct {
	d   *disk
	env *flow.Env
}

func (f *fs) Open(name string, create bool) (flow.File, error) {
	if !flow.ValidName(name) {
		return nil, fmt.Errorf("sim: open %q: %w", name, flow.ErrBadName)
	}
	sf := f.d.files[name]
	if sf == nil {
		if !create {
			return nil, fmt.Errorf("sim: open %q: %w", name, flow.ErrNotExist)
		}
		sf = &simFile{}
		f.d.files[name] = sf
	}
	return &file{fs: f, name: name}, nil
}

func (f *fs) Rename(oldName, newName string) error {
	if !flow.ValidName(oldName) || !flow.ValidName(newName) {
		return fmt.Errorf("sim: rename %q to %q: %w", oldName, newName, flow.ErrBadName)
	}
	sf := f.d.files[oldName]
	if sf == nil {
		return fmt.Errorf("sim: rename %q: %w", oldName, flow.ErrNotExist)
	}
	delete(f.d.files, oldName)
	f.d.files[newName] = sf
	return nil
}

func (f *fs) Remove(name string) error {
	if f.d.files[name] == nil {
		return fmt.Errorf("sim: remove %q: %w", name, flow.ErrNotExist)
	}
	delete(f.d.files, name)
	return nil
}

func (f *fs) List(dir string) ([]string, error) {
	prefix := ""
	if dir != "" {
		prefix = strings.TrimSuffix(dir, "/") + "/"
	}
	var out []string
	for _, n := range f.d.names() {
		if strings.HasPrefix(n, prefix) {
			out = append(out, strings.TrimPrefix(n, prefix))
		}
	}
	return out, nil
}

func (f *fs) SyncDir(c *flow.Ctx) error {
	return c.Sleep(f.latency())
}

func (f *fs) latency() time.Duration {
	return time.Duration(f.env.Rand().Int64N(int64(f.d.syncLatency) + 1))
}

// file is an open handle. A handle of a dead incarnation fails every call.
type file struct {
	fs     *fs
	name   string
	closed bool
}

func (h *file) get() (*simFile, error) {
	if h.closed {
		return nil, fmt.Errorf("sim: %s: file closed", h.name)
	}
	if !h.fs.env.Alive() {
		return nil, fmt.Errorf("sim: %s: process is dead", h.name)
	}
	sf := h.fs.d.files[h.name]
	if sf == nil {
		return nil, fmt.Errorf("sim: %s: %w", h.name, flow.ErrNotExist)
	}
	return sf, nil
}

func (h *file) ReadAt(p []byte, off int64) (int, error) {
	sf, err := h.get()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("sim: %s: negative offset", h.name)
	}
	if off >= int64(len(sf.current)) {
		return 0, io.EOF
	}
	n := copy(p, sf.current[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (h *file) WriteAt(p []byte, off int64) (int, error) {
	sf, err := h.get()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("sim: %s: negative offset", h.name)
	}
	w := diskWrite{off: off, data: slices.Clone(p)}
	sf.current = w.apply(sf.current)
	sf.pending = append(sf.pending, w)
	sf.issued++
	return len(p), nil
}

func (h *file) Truncate(size int64) error {
	sf, err := h.get()
	if err != nil {
		return err
	}
	w := diskWrite{off: size, truncate: true}
	sf.current = w.apply(sf.current)
	sf.pending = append(sf.pending, w)
	sf.issued++
	return nil
}

func (h *file) Size() (int64, error) {
	sf, err := h.get()
	if err != nil {
		return 0, err
	}
	return int64(len(sf.current)), nil
}

// Sync makes the writes issued before the call durable after a simulated
// latency; writes issued meanwhile stay pending.
func (h *file) Sync(c *flow.Ctx) error {
	sf, err := h.get()
	if err != nil {
		return err
	}
	upto := sf.issued
	if err := c.Sleep(h.fs.latency()); err != nil {
		return err
	}
	again, err := h.get()
	if err != nil {
		return err
	}
	if again != sf {
		return nil // removed (and perhaps created anew) meanwhile
	}
	// A Sync that started later may have finished first: only the writes
	// this one saw issued, and not yet synced, become durable.
	n := upto - sf.synced
	if n <= 0 {
		return nil
	}
	for _, w := range sf.pending[:n] {
		sf.durable = w.apply(sf.durable)
	}
	sf.pending = slices.Delete(sf.pending, 0, n)
	sf.synced = upto
	return nil
}

func (h *file) Close() error {
	h.closed = true
	return nil
}
