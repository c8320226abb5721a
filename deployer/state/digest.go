package state

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FileDigest returns the lowercase hex sha256 of the file at path. With a
// cacheDir it remembers the digest there, keyed by the file's absolute
// path and stamped with its device, inode, size, mtime and ctime (as git's
// index does), and reuses it while the stamp still matches: every plan
// needs the release binary's digest, and hashing tens of megabytes each
// time was most of a small plan's local work. Rewriting, replacing or
// touching the file changes the stamp (ctime cannot be set back), and a
// wrong digest could not go unnoticed anyway: hosts check what they
// receive against it. Without a cache directory, or where the platform
// gives no stamp, the file is hashed every time. Cache trouble only costs
// the hashing; it is never an error.
func FileDigest(path, cacheDir string) (string, error) {
	return fileDigest(path, cacheDir, time.Now())
}

func fileDigest(path, cacheDir string, now time.Time) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	stamp, changed, stamped := fileStamp(info)
	var entry string
	// A file changed within the last moments could change again within the
	// same timestamp granularity unseen ("racy" in git's terms): it is
	// hashed, not cached, until it has been quiet for a while.
	if cacheDir != "" && stamped && now.Sub(changed) > racyWindow {
		if abs, err := filepath.Abs(path); err == nil {
			key := sha256.Sum256([]byte(abs))
			entry = filepath.Join(cacheDir, hex.EncodeToString(key[:16]))
			if sum, ok := readDigestEntry(entry, stamp); ok {
				return sum, nil
			}
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if entry != "" {
		// The stamp read before hashing: a file changed meanwhile gets a new
		// ctime, so this entry can never match it.
		if err := os.MkdirAll(cacheDir, 0o700); err == nil {
			_ = WriteFileAtomic(entry, []byte(sum+" "+stamp+"\n"), 0o600)
		}
	}
	return sum, nil
}

// racyWindow is how long after its last change a file's digest is not
// cached: well above the kernel's coarse timestamp granularity.
const racyWindow = 2 * time.Second

func readDigestEntry(entry, stamp string) (string, bool) {
	data, err := os.ReadFile(entry)
	if err != nil {
		return "", false
	}
	sum, rest, ok := strings.Cut(strings.TrimSuffix(string(data), "\n"), " ")
	if !ok || rest != stamp || len(sum) != 64 {
		return "", false
	}
	return sum, true
}
