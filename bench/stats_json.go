package bench

import (
	"encoding/json"
	"fmt"
	"time"
)

// statsJSON is Stats on the wire between a worker process and the
// process aggregating it: latencies as quantised nanoseconds -> count.
type statsJSON struct {
	Transactions uint64               `json:"transactions"`
	Retries      uint64               `json:"retries"`
	Conflicts    uint64               `json:"conflicts"`
	Rows         uint64               `json:"rows"`
	RetriesBy    map[string]uint64    `json:"retries_by_error,omitempty"`
	ElapsedNanos int64                `json:"elapsed_ns"`
	Latencies    map[Op]latenciesJSON `json:"latencies"`
}

// latenciesJSON is one operation's quantised observations and its exact
// maximum (which the quantised values would understate).
type latenciesJSON struct {
	Buckets  map[uint64]uint64 `json:"quantised_ns"`
	MaxNanos int64             `json:"max_ns"`
}

// MarshalJSON encodes the stats losslessly (up to the histogram's
// resolution).
func (s *Stats) MarshalJSON() ([]byte, error) {
	w := statsJSON{
		Transactions: s.Transactions, Retries: s.Retries, Conflicts: s.Conflicts, Rows: s.Rows, RetriesBy: s.RetriesBy,
		ElapsedNanos: int64(s.Elapsed), Latencies: map[Op]latenciesJSON{},
	}
	for op, l := range s.ops {
		w.Latencies[op] = latenciesJSON{Buckets: l.buckets, MaxNanos: int64(l.Max())}
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (s *Stats) UnmarshalJSON(b []byte) error {
	var w statsJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("decoding bench stats: %w", err)
	}
	*s = Stats{
		Transactions: w.Transactions, Retries: w.Retries, Conflicts: w.Conflicts, Rows: w.Rows,
		Elapsed: time.Duration(w.ElapsedNanos), ops: map[Op]*Latencies{}, RetriesBy: map[string]uint64{},
	}
	for name, n := range w.RetriesBy {
		s.RetriesBy[name] = n
	}
	for op, lj := range w.Latencies {
		if err := s.Latency(op).addJSON(lj); err != nil {
			return fmt.Errorf("bench stats of %s: %w", op, err)
		}
	}
	return nil
}

// addJSON re-observes the observations of lj; the one in the maximum's
// bucket is observed at the exact maximum.
func (l *Latencies) addJSON(lj latenciesJSON) error {
	maxNanos := uint64(max(lj.MaxNanos, 0))
	if len(lj.Buckets) > 0 && lj.Buckets[quantise(maxNanos)] == 0 {
		return fmt.Errorf("maximum %dns is in no observed bucket", maxNanos)
	}
	for ns, n := range lj.Buckets {
		if quantise(ns) != ns {
			return fmt.Errorf("latency %dns is not a quantised value", ns)
		}
		if ns == quantise(maxNanos) && n > 0 {
			l.Observe(time.Duration(maxNanos))
			n--
		}
		l.addQuantised(ns, n)
	}
	return nil
}
