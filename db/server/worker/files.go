package worker

import (
	"errors"
	"fmt"

	"github.com/strata-db/strata/db/flow"
	"google.golang.org/protobuf/proto"
)

// maxMarkerBytes bounds a role marker: they are a few dozen bytes.
const maxMarkerBytes = 1 << 16

func readFile(fs flow.FS, name string) ([]byte, error) {
	f, err := fs.Open(name, false)
	if err != nil {
		return nil, fmt.Errorf("worker: opening %s: %w", name, err)
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, fmt.Errorf("worker: reading %s: %w", name, err)
	}
	if size > maxMarkerBytes {
		return nil, fmt.Errorf("worker: %s is %d bytes, more than a marker can be", name, size)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("worker: reading %s: %w", name, err)
	}
	return b, nil
}

func unmarshal(b []byte, m proto.Message) error {
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("worker: decoding a role marker: %w", err)
	}
	return nil
}

// writeMarker durably replaces name with m: written to a temporary file,
// synced, renamed, and the directory synced.
func writeMarker(c *flow.Ctx, fs flow.FS, name string, m proto.Message) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("worker: encoding %s: %w", name, err)
	}
	tmp := name + ".tmp"
	f, err := fs.Open(tmp, true)
	if err != nil {
		return fmt.Errorf("worker: creating %s: %w", tmp, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt(b, 0)
	}
	if err == nil {
		err = f.Sync(c)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fs.Rename(tmp, name)
	}
	if err == nil {
		err = fs.SyncDir(c)
	}
	if err != nil {
		return fmt.Errorf("worker: writing %s: %w", name, err)
	}
	return nil
}

func removeFile(c *flow.Ctx, fs flow.FS, name string) error {
	if err := fs.Remove(name); err != nil && !errors.Is(err, flow.ErrNotExist) {
		return err
	}
	return fs.SyncDir(c)
}
