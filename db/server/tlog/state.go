package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"

	"github.com/strata-db/strata/db/flow"
)

// The state file ("<dir>/state") says whether the directory holds a whole
// log. A log that was never seeded (the single-process path) has none. A
// seeding writes it incomplete before it touches anything else and complete,
// with the seed's version and popped points, only once the copied data is
// durable; a Destroy marks it incomplete before deleting. So a crash in the
// middle of either leaves a directory that New refuses (ErrIncomplete) or
// seeds again, never one that looks like a log with a hole in it.
//
// Format: magic, a completeness byte, the seed version, the number of tags,
// then per tag its number and popped point (the first version the log may
// still hold), all big-endian, and a CRC-32C of everything before it. It is
// replaced by writing a temporary file, syncing it and renaming it over the
// old one, so it is never torn.
const (
	stateFile  = "state"
	stateMagic = "STRTLOGS"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// dirState is the decoded state file.
type dirState struct {
	complete bool
	// version is the seed's version: the log holds every version up to it.
	version int64
	// popped is each seeded tag's popped point (versions below are gone).
	popped map[uint32]int64
}

func (s *dirState) encode() []byte {
	b := []byte(stateMagic)
	complete := byte(0)
	if s.complete {
		complete = 1
	}
	b = append(b, complete)
	b = binary.BigEndian.AppendUint64(b, uint64(s.version))
	tags := make([]uint32, 0, len(s.popped))
	for tag := range s.popped {
		tags = append(tags, tag)
	}
	slices.Sort(tags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(tags)))
	for _, tag := range tags {
		b = binary.BigEndian.AppendUint32(b, tag)
		b = binary.BigEndian.AppendUint64(b, uint64(s.popped[tag]))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeState(b []byte) (*dirState, error) {
	const head = len(stateMagic) + 1 + 8 + 4
	if len(b) < head+4 || string(b[:len(stateMagic)]) != stateMagic {
		return nil, errors.New("not a log state file")
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, errors.New("checksum mismatch")
	}
	s := &dirState{complete: body[len(stateMagic)] == 1, popped: map[uint32]int64{}}
	s.version = int64(binary.BigEndian.Uint64(body[len(stateMagic)+1:]))
	n := int(binary.BigEndian.Uint32(body[len(stateMagic)+9:]))
	rest := body[head:]
	if len(rest) != n*12 {
		return nil, fmt.Errorf("%d bytes for %d tags", len(rest), n)
	}
	for i := range n {
		e := rest[i*12:]
		s.popped[binary.BigEndian.Uint32(e)] = int64(binary.BigEndian.Uint64(e[4:]))
	}
	return s, nil
}

// readState returns the directory's state file, nil if it has none.
func readState(fs flow.FS, dir string) (*dirState, error) {
	name := path.Join(dir, stateFile)
	f, err := fs.Open(name, false)
	if errors.Is(err, flow.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	b := make([]byte, size)
	if n, err := f.ReadAt(b, 0); err != nil && !(errors.Is(err, io.EOF) && int64(n) == size) {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	s, err := decodeState(b)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", name, err)
	}
	return s, nil
}

// writeState durably replaces the directory's state file.
func writeState(c *flow.Ctx, fs flow.FS, dir string, s *dirState) error {
	name, tmp := path.Join(dir, stateFile), path.Join(dir, stateFile+".tmp")
	f, err := fs.Open(tmp, true)
	if err != nil {
		return fmt.Errorf("creating %s: %w", tmp, err)
	}
	err = writeSynced(c, f, s.encode())
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := fs.Rename(tmp, name); err != nil {
		return fmt.Errorf("renaming %s: %w", tmp, err)
	}
	if err := fs.SyncDir(c); err != nil {
		return fmt.Errorf("syncing the directory of %s: %w", name, err)
	}
	return nil
}

func writeSynced(c *flow.Ctx, f flow.File, b []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(b, 0); err != nil {
		return err
	}
	return f.Sync(c)
}

// removeFiles deletes every file under dir except those named in keep
// (relative to dir) and syncs the directory.
func removeFiles(c *flow.Ctx, fs flow.FS, dir string, keep ...string) error {
	names, err := fs.List(dir)
	if err != nil {
		return fmt.Errorf("listing %s: %w", dir, err)
	}
	for _, n := range names {
		if slices.Contains(keep, n) {
			continue
		}
		if err := fs.Remove(path.Join(dir, n)); err != nil && !errors.Is(err, flow.ErrNotExist) {
			return fmt.Errorf("removing %s: %w", path.Join(dir, n), err)
		}
	}
	if err := fs.SyncDir(c); err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// RemoveFiles deletes a log's directory contents in c's process without
// opening it: for a directory New refuses (ErrIncomplete) or a log of a
// generation no longer needed that is not running. On the operating
// system's files the (empty) directory itself stays. The directory is marked incomplete first, so
// an interrupted removal never leaves something that opens as a log.
func RemoveFiles(c *flow.Ctx, dir string) error {
	return removeLog(c, c.Files(), dir)
}

func removeLog(c *flow.Ctx, fs flow.FS, dir string) error {
	if fs == nil {
		return fmt.Errorf("tlog: removing %s: the process has no data directory", dir)
	}
	if err := writeState(c, fs, dir, &dirState{}); err != nil {
		return fmt.Errorf("tlog: removing %s: %w", dir, err)
	}
	if err := removeFiles(c, fs, dir, stateFile); err != nil {
		return fmt.Errorf("tlog: removing %s: %w", dir, err)
	}
	if err := fs.Remove(path.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("tlog: removing %s: %w", dir, err)
	}
	if err := fs.SyncDir(c); err != nil {
		return fmt.Errorf("tlog: removing %s: %w", dir, err)
	}
	return nil
}
