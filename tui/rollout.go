package tui

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/strata-db/strata/deployer/event"
)

// RolloutEvent is one step of an apply or playbook on one host, as the
// deployer's event journal records it.
type RolloutEvent struct {
	Time   time.Time `json:"time"`
	Host   string    `json:"host"`
	Step   string    `json:"step"`
	Status string    `json:"status"` // one of the Step* constants
	Batch  int       `json:"batch"`
}

// Step statuses.
const (
	StepPending = "pending"
	StepRunning = "running"
	StepDone    = "done"
	StepFailed  = "failed"
	StepSkipped = "skipped"
)

func validStepStatus(s string) bool {
	switch s {
	case StepPending, StepRunning, StepDone, StepFailed, StepSkipped:
		return true
	}
	return false
}

// RolloutReader delivers rollout events. ReadEvents returns the events
// recorded since its previous call (none is not an error); it is called
// from a command, at most once at a time.
type RolloutReader interface {
	ReadEvents(ctx context.Context) ([]RolloutEvent, error)
}

// maxEventLine bounds one journal line; longer lines are skipped.
const maxEventLine = 64 << 10

// JSONLinesReader reads rollout events from a JSON-lines file that another
// process appends to. It remembers how far it has read and returns only
// complete new lines, so a line being written is picked up next time. It
// is not safe for concurrent use.
type JSONLinesReader struct {
	Path   string
	offset int64
	line   int // lines consumed so far, for error messages
}

// ReadEvents returns the events appended since the last call. Malformed
// lines are skipped; the error then names the first of them, and the good
// events are returned with it.
func (r *JSONLinesReader) ReadEvents(ctx context.Context) ([]RolloutEvent, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(r.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no rollout has started
	} else if err != nil {
		return nil, fmt.Errorf("reading rollout events: %w", err)
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() < r.offset {
		r.offset, r.line = 0, 0 // the journal was replaced: read it again
	}
	if _, err := f.Seek(r.offset, io.SeekStart); err != nil {
		return nil, fmt.Errorf("reading rollout events %s: %w", r.Path, err)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	var events []RolloutEvent
	var bad error
	for {
		raw, err := br.ReadBytes('\n')
		if err == io.EOF {
			break // an incomplete last line waits for its newline
		} else if err != nil {
			return events, fmt.Errorf("reading rollout events %s: %w", r.Path, err)
		}
		r.offset += int64(len(raw))
		r.line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		ev, err := parseEvent(raw)
		if err != nil {
			if bad == nil {
				bad = fmt.Errorf("%s:%d: %w", r.Path, r.line, err)
			}
			continue
		}
		events = append(events, ev)
	}
	return events, bad
}

// parseEvent decodes and checks one journal line.
func parseEvent(raw []byte) (RolloutEvent, error) {
	if len(raw) > maxEventLine {
		return RolloutEvent{}, fmt.Errorf("event line of %d bytes is longer than %d", len(raw), maxEventLine)
	}
	var ev RolloutEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return RolloutEvent{}, fmt.Errorf("malformed rollout event: %w", err)
	}
	// The deployer's event stream (`strata apply -json`, deployer/event)
	// says "started" where the dashboard says running.
	// and leaves Host empty for cluster-wide steps (configure).
	if ev.Status == string(event.Started) {
		ev.Status = StepRunning
	}
	if ev.Host == "" && ev.Step != "" {
		ev.Host = "cluster"
	}
	switch {
	case ev.Host == "":
		return RolloutEvent{}, errors.New("rollout event has no host")
	case ev.Step == "":
		return RolloutEvent{}, errors.New("rollout event has no step")
	case !validStepStatus(ev.Status):
		return RolloutEvent{}, fmt.Errorf("rollout event has unknown status %q", ev.Status)
	}
	return ev, nil
}

// hostProgress is one host's place in a rollout.
type hostProgress struct {
	Host      string
	Batch     int
	Step      string
	Status    string
	Since     time.Time
	StepsDone int
}

// rollout folds events into per-host progress.
type rollout struct {
	hosts []*hostProgress // in order of first appearance
	last  time.Time
	batch int // the batch of the most recent running step, else of the last event
	err   error
}

func (r *rollout) empty() bool { return len(r.hosts) == 0 }

// add folds events in; they arrive in journal order.
func (r *rollout) add(events []RolloutEvent) {
	for _, ev := range events {
		i := slices.IndexFunc(r.hosts, func(h *hostProgress) bool { return h.Host == ev.Host })
		if i < 0 {
			r.hosts = append(r.hosts, &hostProgress{Host: ev.Host})
			i = len(r.hosts) - 1
		}
		h := r.hosts[i]
		if ev.Status == StepDone && !(h.Step == ev.Step && h.Status == StepDone) {
			h.StepsDone++
		}
		h.Batch, h.Step, h.Status, h.Since = ev.Batch, ev.Step, ev.Status, ev.Time
		if ev.Time.After(r.last) {
			r.last = ev.Time
		}
		r.batch = ev.Batch
	}
	running := -1
	for _, h := range r.hosts {
		if h.Status == StepRunning && h.Batch > running {
			running = h.Batch
		}
	}
	if running >= 0 {
		r.batch = running
	}
}

// hostCounts counts hosts by the status of their latest step.
type hostCounts struct{ running, pending, done, failed int }

func (r *rollout) counts() hostCounts {
	var c hostCounts
	for _, h := range r.hosts {
		switch h.Status {
		case StepRunning:
			c.running++
		case StepFailed:
			c.failed++
		case StepDone, StepSkipped:
			c.done++
		default:
			c.pending++
		}
	}
	return c
}
