package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// Step statuses in the journal.
const (
	StepStarted  = "started"
	StepDone     = "done"
	StepFailed   = "failed"
	StepSkipped  = "skipped"
	RunStarted   = "run-started"
	RunFinished  = "run-finished"
	RunCancelled = "run-cancelled"
)

// Entry is one journal line.
type Entry struct {
	Time     time.Time `json:"time"`
	Run      string    `json:"run"`
	Status   string    `json:"status"`
	Step     string    `json:"step,omitempty"`
	Resource string    `json:"resource,omitempty"`
	Host     string    `json:"host,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Journal appends entries to a file, one JSON line each, fsync'd before
// Append returns, so what it says happened survives a crash of the
// deployer or the machine. Concurrent appends share fsyncs (group
// commit): an Append returns once a sync begun after its write finished,
// so eight hosts finishing steps together cost one or two syncs, not eight.
type Journal struct {
	f *os.File

	mu      sync.Mutex // guards written and the writes
	written uint64     // entries written

	syncMu sync.Mutex // held while syncing; guards synced
	synced uint64     // entries known to be on disk
}

// OpenJournal opens (creating, mode 0600) the journal at path for
// appending. A torn last line left by a crash is cut off first.
func OpenJournal(path string) (*Journal, error) {
	if _, err := ReadJournal(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state: opening journal %s: %w", path, err)
	}
	return &Journal{f: f}, nil
}

// Append writes e durably.
func (j *Journal) Append(e Entry) error {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("state: encoding journal entry: %w", err)
	}
	j.mu.Lock()
	_, err = j.f.Write(append(data, '\n'))
	j.written++
	mine := j.written
	j.mu.Unlock()
	if err != nil {
		return fmt.Errorf("state: writing journal: %w", err)
	}
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= mine {
		return nil // another append's sync, begun after our write, covered it
	}
	j.mu.Lock()
	upTo := j.written
	j.mu.Unlock()
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("state: syncing journal: %w", err)
	}
	j.synced = upTo
	return nil
}

// Close closes the journal.
func (j *Journal) Close() error { return j.f.Close() }

// ReadJournal returns the journal's entries. A last line without its
// newline (torn by a crash) is dropped and cut from the file; a malformed
// complete line is an error naming its line number.
func ReadJournal(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	complete := data
	if i := bytes.LastIndexByte(data, '\n'); i+1 != len(data) {
		complete = data[:i+1]
		if err := os.Truncate(path, int64(len(complete))); err != nil {
			return nil, fmt.Errorf("state: cutting torn journal line in %s: %w", path, err)
		}
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(complete))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("state: %s:%d: malformed journal entry: %w", path, line, err)
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// Unfinished returns, for the last run in entries, the steps that started
// but neither finished nor failed: what an interrupted apply left in flight.
func Unfinished(entries []Entry) []Entry {
	last := ""
	for _, e := range entries {
		if e.Status == RunStarted {
			last = e.Run
		}
	}
	open := map[string]Entry{}
	listed := map[string]bool{}
	var order []string
	for _, e := range entries {
		if e.Run != last || e.Step == "" {
			continue
		}
		key := e.Step + "\x00" + e.Resource
		switch e.Status {
		case StepStarted:
			if !listed[key] {
				listed[key] = true
				order = append(order, key)
			}
			open[key] = e
		case StepDone, StepFailed, StepSkipped:
			delete(open, key)
		}
	}
	var out []Entry
	for _, k := range order {
		if e, ok := open[k]; ok {
			out = append(out, e)
		}
	}
	return out
}
