package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/strata-db/strata/db/flow"
)

// The memory engine's directory holds:
//
//	snapshot      one record: magic, the number of the first log not in it,
//	              then every pair (see encodeSnapshot)
//	snapshot.tmp  a snapshot being written; discarded on open
//	log.<seq>     16 hex digits; records of committed batches, in order
//
// A snapshot naming log N holds every batch of the logs before N, which
// are deleted once it is in place. Open replays the logs numbered N and
// up; only the newest can have a torn tail, because a new log is started
// only after the snapshot before it is durable.
const (
	snapshotName    = "snapshot"
	snapshotTmpName = "snapshot.tmp"
	logPrefix       = "log."
	snapshotMagic   = "strata-memory-snapshot-v1"
)

// memFiles names the engine's files inside its directory of fs.
type memFiles struct {
	fs  flow.FS
	dir string
}

func (m memFiles) path(name string) string {
	if m.dir == "" {
		return name
	}
	return strings.TrimSuffix(m.dir, "/") + "/" + name
}

func logName(seq uint64) string { return fmt.Sprintf("%s%016x", logPrefix, seq) }

// inventory lists the directory: whether a snapshot and a leftover
// temporary snapshot exist, and the log numbers in ascending order.
func (m memFiles) inventory() (snapshot, tmp bool, logs []uint64, err error) {
	names, err := m.fs.List(m.dir)
	if err != nil {
		return false, false, nil, fmt.Errorf("listing: %w", err)
	}
	for _, n := range names {
		switch {
		case n == snapshotName:
			snapshot = true
		case n == snapshotTmpName:
			tmp = true
		case strings.HasPrefix(n, logPrefix):
			seq, perr := strconv.ParseUint(strings.TrimPrefix(n, logPrefix), 16, 64)
			if perr == nil && len(n) == len(logPrefix)+16 {
				logs = append(logs, seq)
			}
		}
	}
	slices.Sort(logs)
	return snapshot, tmp, logs, nil
}

// recover rebuilds the tree from the snapshot and the logs after it, and
// opens the newest log for appending.
func (e *memoryEngine) recover(c *flow.Ctx) error {
	hasSnap, hasTmp, logs, err := e.files.inventory()
	if err != nil {
		return err
	}
	if hasTmp {
		if err := e.files.fs.Remove(e.files.path(snapshotTmpName)); err != nil {
			return fmt.Errorf("removing unfinished snapshot: %w", err)
		}
	}
	firstLog := uint64(1)
	if hasSnap {
		if firstLog, err = e.loadSnapshot(); err != nil {
			return err
		}
	}
	for len(logs) > 0 && logs[0] < firstLog {
		if err := e.files.fs.Remove(e.files.path(logName(logs[0]))); err != nil {
			return fmt.Errorf("removing log already in the snapshot: %w", err)
		}
		logs = logs[1:]
	}
	if len(logs) == 0 {
		logs = []uint64{firstLog}
	}
	for i, seq := range logs {
		if err := e.replayLog(c, seq, i == len(logs)-1); err != nil {
			return err
		}
	}
	return e.files.fs.SyncDir(c)
}

// replayLog applies log seq's intact records. The newest log's torn tail is
// cut off (and the cut synced) and the log stays open for appending; a
// damaged older log means synced data was lost, which is an error.
func (e *memoryEngine) replayLog(c *flow.Ctx, seq uint64, newest bool) error {
	name := e.files.path(logName(seq))
	f, err := e.files.fs.Open(name, newest)
	if err != nil {
		return fmt.Errorf("opening log: %w", err)
	}
	buf, err := readAll(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("reading %s: %w", name, err)
	}
	valid, err := scanLog(buf, e.apply)
	if err != nil {
		f.Close()
		return fmt.Errorf("replaying %s: %w", name, err)
	}
	if !newest {
		if valid != int64(len(buf)) {
			return fmt.Errorf("%s is damaged at offset %d but is not the newest log: %w", name, valid, errCorrupt)
		}
		e.frozenBytes += valid // on disk until the next snapshot removes it
		return f.Close()
	}
	if valid != int64(len(buf)) {
		if err := f.Truncate(valid); err != nil {
			f.Close()
			return fmt.Errorf("truncating torn tail of %s: %w", name, err)
		}
		if err := f.Sync(c); err != nil {
			f.Close()
			return fmt.Errorf("syncing %s: %w", name, err)
		}
	}
	e.log, e.logSeq, e.logSize = f, seq, valid
	return nil
}

// encodeSnapshot lays out a snapshot's payload: magic, first log number,
// pair count, then each pair as uvarint-length-prefixed key and value.
func (e *memoryEngine) encodeSnapshot(firstLog uint64) []byte {
	buf := make([]byte, 0, int64(len(snapshotMagic)+20+e.tree.Len()*4)+e.kvBytes)
	buf = append(buf, snapshotMagic...)
	buf = binary.AppendUvarint(buf, firstLog)
	buf = binary.AppendUvarint(buf, uint64(e.tree.Len()))
	e.tree.Ascend(func(it memItem) bool {
		buf = appendBytes(appendBytes(buf, it.key), it.value)
		return true
	})
	return buf
}

func (e *memoryEngine) loadSnapshot() (firstLog uint64, err error) {
	name := e.files.path(snapshotName)
	f, err := e.files.fs.Open(name, false)
	if err != nil {
		return 0, fmt.Errorf("opening snapshot: %w", err)
	}
	defer f.Close()
	buf, err := readAll(f)
	if err != nil {
		return 0, fmt.Errorf("reading snapshot: %w", err)
	}
	payload, size, ok := nextRecord(buf)
	if !ok || size != len(buf) {
		// The snapshot was synced before it was renamed into place, so a
		// bad one is damage, not a crash artefact.
		return 0, fmt.Errorf("snapshot checksum or length mismatch: %w", errCorrupt)
	}
	if firstLog, err = e.decodeSnapshot(payload); err != nil {
		return 0, fmt.Errorf("decoding snapshot: %w", err)
	}
	e.frozenBytes = int64(len(buf))
	return firstLog, nil
}

func (e *memoryEngine) decodeSnapshot(p []byte) (firstLog uint64, err error) {
	if !bytes.HasPrefix(p, []byte(snapshotMagic)) {
		return 0, fmt.Errorf("bad magic: %w", errCorrupt)
	}
	p = p[len(snapshotMagic):]
	firstLog, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, fmt.Errorf("first log number: %w", errCorrupt)
	}
	p = p[n:]
	count, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, fmt.Errorf("pair count: %w", errCorrupt)
	}
	p = p[n:]
	for range count {
		var key, value []byte
		if key, p, err = readBytes(p); err != nil {
			return 0, err
		}
		if value, p, err = readBytes(p); err != nil {
			return 0, err
		}
		e.set(key, value)
	}
	if len(p) != 0 {
		return 0, fmt.Errorf("%d trailing bytes: %w", len(p), errCorrupt)
	}
	return firstLog, nil
}

// snapshot writes every pair to snapshot.tmp, syncs it, renames it over
// the snapshot, then starts the next log and deletes the old one; each
// step is durable before the next begins, so a crash anywhere leaves a
// snapshot and logs that together hold exactly the committed batches.
func (e *memoryEngine) snapshot(c *flow.Ctx) error {
	next := e.logSeq + 1
	rec, err := appendRecord(nil, e.encodeSnapshot(next))
	if err != nil {
		return err
	}
	if err := e.writeSynced(c, snapshotTmpName, rec); err != nil {
		return err
	}
	fs := e.files.fs
	if err := fs.Rename(e.files.path(snapshotTmpName), e.files.path(snapshotName)); err != nil {
		return fmt.Errorf("renaming snapshot into place: %w", err)
	}
	if err := fs.SyncDir(c); err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	newLog, err := fs.Open(e.files.path(logName(next)), true)
	if err != nil {
		return fmt.Errorf("creating log: %w", err)
	}
	old, oldSeq := e.log, e.logSeq
	e.log, e.logSeq, e.logSize, e.frozenBytes = newLog, next, 0, int64(len(rec))
	if err := fs.SyncDir(c); err != nil {
		return fmt.Errorf("syncing directory: %w", err)
	}
	if err := errors.Join(old.Close(), fs.Remove(e.files.path(logName(oldSeq)))); err != nil {
		return fmt.Errorf("removing old log: %w", err)
	}
	return fs.SyncDir(c)
}

// writeSynced replaces file name with data and syncs it.
func (e *memoryEngine) writeSynced(c *flow.Ctx, name string, data []byte) error {
	f, err := e.files.fs.Open(e.files.path(name), true)
	if err != nil {
		return fmt.Errorf("creating %s: %w", name, err)
	}
	err = f.Truncate(0)
	for off := 0; err == nil && off < len(data); off += 1 << 20 {
		_, err = f.WriteAt(data[off:min(len(data), off+1<<20)], int64(off))
	}
	if err == nil {
		err = f.Sync(c)
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
