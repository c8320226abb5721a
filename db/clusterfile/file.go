package clusterfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// EnvVar names the environment variable that points at the cluster file.
const EnvVar = "STRATA_CLUSTER_FILE"

// LocalName is the cluster file looked for in the working directory.
const LocalName = "strata.cluster"

// DefaultPath is where the cluster file is when nothing else says.
const DefaultPath = "/etc/strata/strata.cluster"

// Where a looked-up path came from, as Lookup reports it.
const (
	SourceFlag    = "command line"
	SourceEnv     = "environment variable " + EnvVar
	SourceWorkDir = "working directory"
	SourceDefault = "default path"
)

// maxFileSize bounds what Read accepts: a cluster file is one short line.
const maxFileSize = 64 << 10

// Lookup returns the cluster file to use and where that choice came from,
// in FoundationDB's order: the -C flag (flagValue) if set; else
// $STRATA_CLUSTER_FILE if set; else ./strata.cluster if it exists; else
// DefaultPath. Like FoundationDB it never falls back past an explicit
// choice: a flag or environment variable naming a missing file is returned
// as is, and reading it fails.
func Lookup(flagValue string) (path, source string) {
	if flagValue != "" {
		return flagValue, SourceFlag
	}
	if v := os.Getenv(EnvVar); v != "" {
		return v, SourceEnv
	}
	if _, err := os.Stat(LocalName); err == nil {
		if abs, err := filepath.Abs(LocalName); err == nil {
			return abs, SourceWorkDir
		}
		return LocalName, SourceWorkDir
	}
	return DefaultPath, SourceDefault
}

// Read reads and parses the cluster file at path.
func Read(path string) (ClusterFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return ClusterFile{}, fmt.Errorf("reading cluster file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return ClusterFile{}, fmt.Errorf("reading cluster file %s: %w", path, err)
	}
	if len(b) > maxFileSize {
		return ClusterFile{}, fmt.Errorf("cluster file %s: %w", path, invalid("larger than %d bytes", maxFileSize))
	}
	cf, err := Parse(string(b))
	if err != nil {
		return ClusterFile{}, fmt.Errorf("cluster file %s: %w", path, err)
	}
	return cf, nil
}

// WriteAtomic replaces the file at path with cf: it writes a temporary
// file in the same directory, syncs it, renames it over path and syncs the
// directory, so readers and crashes see the old file or the new one, never
// a mix. The file keeps the permission bits of the one it replaces (0644
// for a new file). cf is validated first: an invalid cluster file is never
// written.
func WriteAtomic(path string, cf ClusterFile) error {
	if err := cf.Validate(); err != nil {
		return fmt.Errorf("writing cluster file %s: %w", path, err)
	}
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("writing cluster file: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("writing cluster file %s: %w", path, err)
	}
	if err := writeAndSync(tmp, []byte(cf.String()+"\n"), mode); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing cluster file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("writing cluster file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("writing cluster file %s: %w", path, err)
	}
	return nil
}

// writeAndSync fills a fresh temporary file, sets its mode and makes it
// durable, closing it in every case.
func writeAndSync(f *os.File, b []byte, mode fs.FileMode) error {
	_, err := f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
