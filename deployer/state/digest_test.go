package state

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func sumOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestFileDigestCachesOnlyWhileTheFileIsUnchanged(t *testing.T) {
	later := time.Now().Add(time.Minute) // past the racy window
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	p := filepath.Join(dir, "release")
	if err := os.WriteFile(p, []byte("version one"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Just written: hashed, not cached (a same-size rewrite within the
	// timestamp granularity would go unseen).
	if got, err := FileDigest(p, cache); err != nil || got != sumOf([]byte("version one")) {
		t.Fatalf("digest %s, %v", got, err)
	}
	if entries, _ := os.ReadDir(cache); len(entries) != 0 {
		t.Fatalf("a just-written file was cached: %v", entries)
	}
	if got, err := fileDigest(p, cache, later); err != nil || got != sumOf([]byte("version one")) {
		t.Fatalf("digest %s, %v", got, err)
	}
	entries, err := os.ReadDir(cache)
	if err != nil || len(entries) != 1 {
		t.Fatalf("cache after a quiet file was hashed: %v, %v", entries, err)
	}
	// A planted entry with the file's stamp is what a hit returns, which
	// proves the file was not read.
	entry := filepath.Join(cache, entries[0].Name())
	data, _ := os.ReadFile(entry)
	planted := sumOf([]byte("planted")) + string(data[64:])
	if err := os.WriteFile(entry, []byte(planted), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := fileDigest(p, cache, later); got != sumOf([]byte("planted")) {
		t.Fatalf("a matching stamp did not use the cache: %s", got)
	}
	// The same size rewritten: the stamp changes, the file is hashed again.
	if err := os.WriteFile(p, []byte("version two"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, _ := fileDigest(p, cache, later.Add(time.Minute)); got != sumOf([]byte("version two")) {
		t.Fatalf("after a rewrite: %s", got)
	}
	// No cache directory: always hashed.
	if got, _ := FileDigest(p, ""); got != sumOf([]byte("version two")) {
		t.Fatalf("uncached: %s", got)
	}
}
