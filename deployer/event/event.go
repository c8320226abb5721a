package event

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Status of a step.
type Status string

// Step statuses.
const (
	Started Status = "started"
	Done    Status = "done"
	Failed  Status = "failed"
	Skipped Status = "skipped"
	Info    Status = "info"
)

// Event is one thing that happened during a run.
type Event struct {
	Time     time.Time `json:"time"`
	Run      string    `json:"run,omitempty"`
	Phase    string    `json:"phase,omitempty"`
	Host     string    `json:"host,omitempty"`
	Resource string    `json:"resource,omitempty"`
	Step     string    `json:"step"`
	Status   Status    `json:"status"`
	Detail   string    `json:"detail,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Batch is the rolling batch a step belongs to, when batched.
	Batch int `json:"batch,omitempty"`
}

// Sink receives events. Emit may be called from many goroutines.
type Sink interface {
	Emit(Event)
}

// Discard drops every event.
type Discard struct{}

// Emit implements Sink.
func (Discard) Emit(Event) {}

// Lines writes one human line per event.
type Lines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewLines returns a sink writing plain lines to w.
func NewLines(w io.Writer) *Lines { return &Lines{w: w} }

// Emit implements Sink.
func (l *Lines) Emit(e Event) {
	where := e.Host
	if where == "" {
		where = "cluster"
	}
	line := fmt.Sprintf("%s %-8s %-22s %s", e.Time.Format("15:04:05"), e.Status, where, e.Step)
	if e.Resource != "" {
		line += " " + e.Resource
	}
	if e.Detail != "" {
		line += ": " + e.Detail
	}
	if e.Error != "" {
		line += ": " + e.Error
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, line)
}

// JSONLines writes each event as one JSON line.
type JSONLines struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONLines returns a sink writing JSON lines to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{enc: json.NewEncoder(w)} }

// Emit implements Sink.
func (j *JSONLines) Emit(e Event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	_ = j.enc.Encode(e)
}

// Multi sends every event to each sink.
type Multi []Sink

// Emit implements Sink.
func (m Multi) Emit(e Event) {
	for _, s := range m {
		s.Emit(e)
	}
}
