package flow

import "time"

// Severity orders trace events, as FoundationDB's SevDebug..SevError.
type Severity int

// Severities.
const (
	SevDebug   Severity = 5
	SevInfo    Severity = 10
	SevWarn    Severity = 20
	SevWarnAlw Severity = 30
	SevError   Severity = 40
)

func (s Severity) String() string {
	switch {
	case s >= SevError:
		return "error"
	case s >= SevWarn:
		return "warn"
	case s >= SevInfo:
		return "info"
	default:
		return "debug"
	}
}

// TraceEvent is one structured event: a type name and ordered details.
type TraceEvent struct {
	Time     time.Time
	Address  Address
	Severity Severity
	Type     string
	Details  []Detail
}

// Detail is one key/value of a trace event.
type Detail struct {
	Key   string
	Value any
}

// D builds a Detail.
func D(key string, value any) Detail { return Detail{Key: key, Value: value} }

// Tracer receives a process's trace events.
type Tracer interface {
	Trace(ev TraceEvent)
}

// Trace records a structured event. Details keep their order, so the same
// run traces the same bytes.
func (e *Env) Trace(sev Severity, typ string, details ...Detail) {
	if e.tracer == nil {
		return
	}
	e.tracer.Trace(TraceEvent{Time: e.Now(), Address: e.addr, Severity: sev, Type: typ, Details: details})
}
