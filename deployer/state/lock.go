package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// LockInfo says who holds a state lock; it is the lock file's content.
type LockInfo struct {
	ID        string    `json:"id"`
	Operation string    `json:"operation"`
	Who       string    `json:"who"`
	PID       int       `json:"pid"`
	Created   time.Time `json:"created"`
}

// Lock is a held state lock.
type Lock struct {
	path string
	info LockInfo
}

// LockedError is returned when another run holds the lock.
type LockedError struct {
	Path   string
	Holder LockInfo
}

func (e *LockedError) Error() string {
	h := e.Holder
	return fmt.Sprintf("state is locked by %s (pid %d, %s) since %s, lock ID %s\n"+
		"If that run is no longer alive, release the lock with: strata state force-unlock %s",
		h.Who, h.PID, h.Operation, h.Created.Format(time.RFC3339), h.ID, h.ID)
}

// LockPath returns the lock file that guards the state at statePath.
func LockPath(statePath string) string { return statePath + ".lock" }

// Acquire takes the lock guarding the state at statePath for operation,
// or fails with *LockedError naming the holder.
func Acquire(statePath, operation, who string) (*Lock, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("state: making a lock ID: %w", err)
	}
	info := LockInfo{ID: hex.EncodeToString(b[:]), Operation: operation, Who: who, PID: os.Getpid(), Created: time.Now().UTC()}
	path := LockPath(statePath)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		holder, rerr := readLock(path)
		if rerr != nil {
			return nil, fmt.Errorf("state: %s exists but cannot be read (%v); remove it if no run is active", path, rerr)
		}
		return nil, &LockedError{Path: path, Holder: holder}
	}
	if err != nil {
		return nil, fmt.Errorf("state: locking %s: %w", path, err)
	}
	data, _ := json.Marshal(info)
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("state: writing lock %s: %w", path, err)
	}
	return &Lock{path: path, info: info}, nil
}

// Info returns the lock's holder information.
func (l *Lock) Info() LockInfo { return l.info }

// Release gives the lock up. It refuses to remove a lock that is no longer
// its own (someone force-unlocked and relocked).
func (l *Lock) Release() error {
	cur, err := readLock(l.path)
	if err != nil {
		return fmt.Errorf("state: releasing lock %s: %w", l.path, err)
	}
	if cur.ID != l.info.ID {
		return fmt.Errorf("state: lock %s now belongs to %s (ID %s); not releasing it", l.path, cur.Who, cur.ID)
	}
	return os.Remove(l.path)
}

// ForceUnlock removes the lock of the state at statePath if its ID is id.
func ForceUnlock(statePath, id string) error {
	path := LockPath(statePath)
	cur, err := readLock(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("state: %s is not locked", statePath)
	}
	if err != nil {
		return fmt.Errorf("state: reading lock %s: %w", path, err)
	}
	if cur.ID != id {
		return fmt.Errorf("state: lock ID is %s, not %s; refusing to remove another run's lock", cur.ID, id)
	}
	return os.Remove(path)
}

func readLock(path string) (LockInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return LockInfo{}, err
	}
	var info LockInfo
	if err := json.Unmarshal(data, &info); err != nil {
		return LockInfo{}, fmt.Errorf("malformed lock file: %w", err)
	}
	return info, nil
}
