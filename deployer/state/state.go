package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// FormatVersion is the version of the state file format this build writes.
const FormatVersion = 1

// State is the deployer's record of a cluster.
type State struct {
	// Version is the file format version.
	Version int `json:"version"`
	// Lineage identifies the cluster's history; a plan made against one
	// lineage is refused for another.
	Lineage string `json:"lineage"`
	// Serial increases with every saved change.
	Serial uint64 `json:"serial"`
	// Cluster is the cluster's name from its description.
	Cluster string `json:"cluster,omitempty"`
	// Resources are sorted by Address.
	Resources []Resource `json:"resources"`
}

// Resource is one managed thing: a release binary on a host, a conf file, a
// monitor service, a server process, the database configuration.
type Resource struct {
	// Address names the resource, e.g. "host.db1.release" or
	// "process.db1:4500".
	Address string `json:"address"`
	// Type is the kind of resource, e.g. "release", "conf", "process".
	Type string `json:"type"`
	// Attributes are what the deployer observed or applied: digests,
	// versions, argument digests.
	Attributes map[string]string `json:"attributes,omitempty"`
	// UpdatedAt is when the resource last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// New returns an empty state with a fresh lineage.
func New(cluster string) (*State, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("state: making a lineage: %w", err)
	}
	return &State{Version: FormatVersion, Lineage: hex.EncodeToString(b[:]), Cluster: cluster}, nil
}

// Resource returns the resource at address, or nil.
func (s *State) Resource(address string) *Resource {
	i, ok := slices.BinarySearchFunc(s.Resources, address, func(r Resource, a string) int { return strings.Compare(r.Address, a) })
	if !ok {
		return nil
	}
	return &s.Resources[i]
}

// Put inserts or replaces a resource, keeping the list sorted.
func (s *State) Put(r Resource) {
	i, ok := slices.BinarySearchFunc(s.Resources, r.Address, func(x Resource, a string) int { return strings.Compare(x.Address, a) })
	if ok {
		s.Resources[i] = r
		return
	}
	s.Resources = slices.Insert(s.Resources, i, r)
}

// Remove deletes the resource at address and reports whether it existed.
func (s *State) Remove(address string) bool {
	i, ok := slices.BinarySearchFunc(s.Resources, address, func(x Resource, a string) int { return strings.Compare(x.Address, a) })
	if ok {
		s.Resources = slices.Delete(s.Resources, i, i+1)
	}
	return ok
}

// ErrNoState is returned by Load when the state file does not exist.
var ErrNoState = errors.New("state: no state file")

// Load reads the state at path.
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoState, path)
	}
	if err != nil {
		return nil, fmt.Errorf("state: reading %s: %w", path, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state: %s is not a valid state file: %w", path, err)
	}
	switch {
	case s.Version > FormatVersion:
		return nil, fmt.Errorf("state: %s has format version %d, newer than this strata understands (%d); upgrade strata", path, s.Version, FormatVersion)
	case s.Version < 1:
		return nil, fmt.Errorf("state: %s has no format version", path)
	case s.Lineage == "":
		return nil, fmt.Errorf("state: %s has no lineage", path)
	}
	slices.SortFunc(s.Resources, func(a, b Resource) int { return strings.Compare(a.Address, b.Address) })
	return &s, nil
}

// Save writes s to path atomically, after copying the previous state to
// path+".backup", and increments s.Serial. A stale writer is refused: if the
// file on disk has another lineage or a serial not below the new one, it
// was changed by someone else.
func Save(path string, s *State) error {
	if old, err := Load(path); err == nil {
		if old.Lineage != s.Lineage {
			return fmt.Errorf("state: %s belongs to lineage %s, not %s: refusing to overwrite another cluster's state", path, old.Lineage, s.Lineage)
		}
		if old.Serial > s.Serial {
			return fmt.Errorf("state: %s is at serial %d, newer than this run's %d: it changed underneath; refresh and plan again", path, old.Serial, s.Serial)
		}
		if err := copyFile(path, path+".backup"); err != nil {
			return err
		}
	} else if !errors.Is(err, ErrNoState) {
		return err
	}
	next := *s
	next.Serial++
	next.Version = FormatVersion
	data, err := json.MarshalIndent(&next, "", "  ")
	if err != nil {
		return fmt.Errorf("state: encoding: %w", err)
	}
	if err := WriteFileAtomic(path, append(data, '\n'), 0o600); err != nil {
		return err
	}
	s.Serial = next.Serial
	return nil
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("state: backing up %s: %w", src, err)
	}
	return WriteFileAtomic(dst, data, 0o600)
}

// WriteFileAtomic replaces path with data: it writes a temporary file in
// the same directory, fsyncs it, renames it over path and fsyncs the
// directory, so a crash leaves either the old file or the new one.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("state: syncing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state: writing %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("state: replacing %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("state: syncing directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("state: syncing directory %s: %w", dir, err)
	}
	return nil
}
