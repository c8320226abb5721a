package coordinator

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
	"google.golang.org/protobuf/proto"
)

// DefaultStateFile is the name of a coordinator's state in its data
// directory.
const DefaultStateFile = "coordination.state"

// stateMagic starts a state file: format and version.
var stateMagic = [4]byte{'S', 'C', 'S', '1'}

// headerSize is magic, CRC-32C of the payload and payload length.
const headerSize = 12

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// store is a coordinator's durable registers. The whole state is one small
// file, replaced atomically on every change (written to a temporary file,
// synced, renamed over the old one, directory synced), so a crash leaves
// the old or the new state, never a mix.
type store struct {
	fs   flow.FS
	name string
	regs map[string]*wire.RegisterState
	// existed says the state file was there when the store was loaded.
	existed bool
}

// loadStore recovers the registers from fs, or starts empty if the file
// does not exist. A state file that exists but does not check out is an
// error: serving from empty registers would forget promises made to
// readers and writers.
func loadStore(fs flow.FS, name string) (*store, error) {
	s := &store{fs: fs, name: name, regs: map[string]*wire.RegisterState{}}
	if names, err := fs.List(""); err == nil && slices.Contains(names, name+".tmp") {
		// A rewrite died before its rename: the old file is still whole.
		if err := fs.Remove(name + ".tmp"); err != nil {
			return nil, fmt.Errorf("coordinator: removing stale %s.tmp: %w", name, err)
		}
	}
	f, err := fs.Open(name, false)
	if errors.Is(err, flow.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("coordinator: opening state: %w", err)
	}
	defer f.Close()
	s.existed = true
	state, err := readState(f)
	if err != nil {
		return nil, fmt.Errorf("coordinator: state file %s: %w", name, err)
	}
	for _, r := range state.GetRegisters() {
		s.regs[r.GetClusterKey()] = r
	}
	return s, nil
}

func readState(f flow.File) (*wire.CoordinatorDiskState, error) {
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	if size < headerSize || size > 64<<20 {
		return nil, fmt.Errorf("size %d is not a state file's", size)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	if [4]byte(b[:4]) != stateMagic {
		return nil, fmt.Errorf("bad magic %q", b[:4])
	}
	sum, n := binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[8:])
	payload := b[headerSize:]
	if uint32(len(payload)) != n || crc32.Checksum(payload, castagnoli) != sum {
		return nil, errors.New("checksum or length mismatch")
	}
	state := &wire.CoordinatorDiskState{}
	if err := proto.Unmarshal(payload, state); err != nil {
		return nil, err
	}
	return state, nil
}

// get returns key's register, creating an empty one in memory.
func (s *store) get(key string) *wire.RegisterState {
	r := s.regs[key]
	if r == nil {
		r = &wire.RegisterState{ClusterKey: key, ReadGen: &wire.UniqueGeneration{}, WriteGen: &wire.UniqueGeneration{}}
		s.regs[key] = r
	}
	return r
}

// forwardedTo returns where key was forwarded, or "".
func (s *store) forwardedTo(key string) string {
	return s.regs[key].GetForwardedTo()
}

// save makes the registers durable; only then may a reply reveal them.
func (s *store) save(c *flow.Ctx) error {
	keys := make([]string, 0, len(s.regs))
	for k := range s.regs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	state := &wire.CoordinatorDiskState{}
	for _, k := range keys {
		state.Registers = append(state.Registers, s.regs[k])
	}
	payload, err := proto.MarshalOptions{Deterministic: true}.Marshal(state)
	if err != nil {
		return fmt.Errorf("coordinator: encoding state: %w", err)
	}
	b := make([]byte, headerSize, headerSize+len(payload))
	copy(b, stateMagic[:])
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(b[8:], uint32(len(payload)))
	b = append(b, payload...)
	if err := s.replace(c, b); err != nil {
		return fmt.Errorf("coordinator: saving state: %w", err)
	}
	return nil
}

func (s *store) replace(c *flow.Ctx, b []byte) error {
	tmp := s.name + ".tmp"
	f, err := s.fs.Open(tmp, true)
	if err != nil {
		return err
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(b, 0)
	}
	if err == nil {
		err = f.Sync(c)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := s.fs.Rename(tmp, s.name); err != nil {
		return err
	}
	return s.fs.SyncDir(c)
}

// genLess orders unique generations.
func genLess(a, b *wire.UniqueGeneration) bool {
	if a.GetGeneration() != b.GetGeneration() {
		return a.GetGeneration() < b.GetGeneration()
	}
	return a.GetUid() < b.GetUid()
}

func genEqual(a, b *wire.UniqueGeneration) bool {
	return a.GetGeneration() == b.GetGeneration() && a.GetUid() == b.GetUid()
}

func genMax(a, b *wire.UniqueGeneration) *wire.UniqueGeneration {
	if genLess(a, b) {
		return b
	}
	return a
}
