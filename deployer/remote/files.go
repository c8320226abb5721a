package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"
)

// shell runs scripts on one host; the ssh and local transports implement
// it and share the file operations of files, so both behave alike.
type shell interface {
	hostName() string
	run(ctx context.Context, script string, opts RunOpts) (Result, error)
}

// files implements the file methods of Host with POSIX shell scripts and
// coreutils (sha256sum, stat, sync), which every supported host has.
type files struct {
	sh shell
	// sudo makes file operations run as root (the host's `sudo` setting).
	sudo bool
}

// exitMissing is the status the scripts below use for "no such file"; the
// tools they run (cat, stat, sha256sum) only ever exit 0 or 1.
const exitMissing = 44

func (f files) script(ctx context.Context, script string, stdin io.Reader) (Result, error) {
	return f.sh.run(ctx, script, RunOpts{Sudo: f.sudo, Stdin: stdin})
}

// notExist turns the missing-file status into an error matching
// fs.ErrNotExist.
func (f files) notExist(op, p string, err error) error {
	if IsExit(err, exitMissing) {
		return fmt.Errorf("%s: %s %s: %w", f.sh.hostName(), op, p, fs.ErrNotExist)
	}
	return fmt.Errorf("%s %s: %w", op, p, err)
}

func missingGuard(p string) string {
	return fmt.Sprintf("p=%s\n[ -e \"$p\" ] || { echo \"no such file: $p\" >&2; exit %d; }\n", shQuote(p), exitMissing)
}

func (f files) Digest(ctx context.Context, p string) (string, error) {
	res, err := f.script(ctx, missingGuard(p)+`sha256sum -- "$p"`, nil)
	if err != nil {
		return "", f.notExist("digest", p, err)
	}
	sum, _, _ := strings.Cut(string(res.Stdout), " ")
	if !isDigest(sum) {
		return "", fmt.Errorf("%s: digest %s: sha256sum printed %q", f.sh.hostName(), p, tailOf(res.Stdout))
	}
	return sum, nil
}

func (f files) ReadFile(ctx context.Context, p string) ([]byte, error) {
	res, err := f.script(ctx, missingGuard(p)+`cat -- "$p"`, nil)
	if err != nil {
		return nil, f.notExist("read", p, err)
	}
	return res.Stdout, nil
}

func (f files) Stat(ctx context.Context, p string) (FileInfo, error) {
	// %f is the raw st_mode in hex, %s the size, %Y the mtime in seconds.
	res, err := f.script(ctx, missingGuard(p)+`stat -L -c '%f %s %Y' -- "$p"`, nil)
	if err != nil {
		return FileInfo{}, f.notExist("stat", p, err)
	}
	info, perr := parseStat(p, strings.TrimSpace(string(res.Stdout)))
	if perr != nil {
		return FileInfo{}, fmt.Errorf("%s: stat %s: %w", f.sh.hostName(), p, perr)
	}
	return info, nil
}

func parseStat(p, line string) (FileInfo, error) {
	fields := strings.Fields(line)
	if len(fields) != 3 {
		return FileInfo{}, fmt.Errorf("unexpected stat output %q", line)
	}
	raw, err1 := strconv.ParseUint(fields[0], 16, 32)
	size, err2 := strconv.ParseInt(fields[1], 10, 64)
	mtime, err3 := strconv.ParseInt(fields[2], 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return FileInfo{}, fmt.Errorf("unexpected stat output %q: %w", line, err)
	}
	const typeMask, typeDir = 0o170000, 0o040000
	mode := fs.FileMode(raw & 0o777)
	if raw&typeMask == typeDir {
		mode |= fs.ModeDir
	}
	return FileInfo{Path: p, Size: size, Mode: mode, ModTime: time.Unix(mtime, 0)}, nil
}

func (f files) WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error {
	sum := sha256.Sum256(data)
	return f.install(ctx, bytes.NewReader(data), int64(len(data)), p, mode, hex.EncodeToString(sum[:]))
}

func (f files) Upload(ctx context.Context, src io.Reader, size int64, dst string, mode fs.FileMode, want string) error {
	if !isDigest(want) {
		return fmt.Errorf("%s: upload %s: %q is not a lowercase hex sha256", f.sh.hostName(), dst, want)
	}
	if size < 0 {
		return fmt.Errorf("%s: upload %s: negative size %d", f.sh.hostName(), dst, size)
	}
	have, haveMode, err := f.present(ctx, dst)
	switch {
	case err == nil && have == want && haveMode == mode.Perm():
		return nil
	case err == nil && have == want:
		if _, err := f.script(ctx, fmt.Sprintf("chmod %o -- %s", mode.Perm(), shQuote(dst)), nil); err != nil {
			return fmt.Errorf("upload %s: %w", dst, err)
		}
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("upload: %w", err)
	}
	return f.install(ctx, src, size, dst, mode, want)
}

// present returns the digest and permission bits of p in one round trip.
func (f files) present(ctx context.Context, p string) (string, fs.FileMode, error) {
	res, err := f.script(ctx, missingGuard(p)+"sha256sum -- \"$p\"\nstat -L -c %a -- \"$p\"", nil)
	if err != nil {
		return "", 0, f.notExist("digest", p, err)
	}
	fields := strings.Fields(string(res.Stdout))
	if len(fields) != 3 || !isDigest(fields[0]) {
		return "", 0, fmt.Errorf("%s: digest %s: unexpected output %q", f.sh.hostName(), p, tailOf(res.Stdout))
	}
	mode, perr := strconv.ParseUint(fields[2], 8, 32)
	if perr != nil {
		return "", 0, fmt.Errorf("%s: digest %s: unexpected mode %q", f.sh.hostName(), p, fields[2])
	}
	return fields[0], fs.FileMode(mode) & fs.ModePerm, nil
}

// install streams size bytes of src into a temporary file beside dst and,
// on the host, checks its digest, sets its mode, syncs it and renames it
// over dst; the directory is synced so the rename survives a crash.
func (f files) install(ctx context.Context, src io.Reader, size int64, dst string, mode fs.FileMode, want string) error {
	if !path.IsAbs(dst) {
		return fmt.Errorf("%s: write %s: the path must be absolute", f.sh.hostName(), dst)
	}
	suffix, err := randomSuffix()
	if err != nil {
		return err
	}
	script := fmt.Sprintf(installScript, shQuote(dst), shQuote(path.Dir(dst)),
		shQuote(dst+".strata-tmp."+suffix), want, mode.Perm())
	counted := &countingHasher{r: io.LimitReader(src, size), h: sha256.New()}
	_, runErr := f.script(ctx, script, counted)
	// A bad source explains a remote digest failure better than the
	// remote message does, so check it first.
	if counted.n != size {
		return fmt.Errorf("%s: write %s: the source gave %d of %d bytes", f.sh.hostName(), dst, counted.n, size)
	}
	if got := hex.EncodeToString(counted.h.Sum(nil)); got != want {
		return fmt.Errorf("%s: write %s: the source has sha256 %s, want %s", f.sh.hostName(), dst, got, want)
	}
	if runErr != nil {
		return fmt.Errorf("write %s: %w", dst, runErr)
	}
	return nil
}

// installScript's verbs: dst, its directory, the temporary file, the
// expected digest and the mode. The trap removes the temporary file on any
// failure; `sync FILE` needs coreutils 8.24, older systems sync everything.
const installScript = `set -e
umask 077
dst=%s
dir=%s
tmp=%s
mkdir -p -- "$dir"
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
sum=$(sha256sum -- "$tmp")
sum=${sum%%%% *}
if [ "$sum" != %s ]; then echo "digest mismatch after transfer: got $sum" >&2; exit 3; fi
chmod %o -- "$tmp"
sync -- "$tmp" 2>/dev/null || sync
mv -f -- "$tmp" "$dst"
trap - EXIT
sync -- "$dir" 2>/dev/null || sync
`

type countingHasher struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (c *countingHasher) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	return n, err
}

func randomSuffix() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("temporary file name: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// shQuote quotes s as one POSIX shell word.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
