package bench

import (
	"encoding/json"
	"fmt"
	"time"
)

// statsJSON is Stats on the wire between a worker process and the
// process aggregating it: latencies as quantised nanoseconds -> count.
type statsJSON struct {
	Transactions uint64                   `json:"transactions"`
	Retries      uint64                   `json:"retries"`
	Conflicts    uint64                   `json:"conflicts"`
	Rows         uint64                   `json:"rows"`
	ElapsedNanos int64                    `json:"elapsed_ns"`
	Latencies    map[Op]map[uint64]uint64 `json:"latencies_ns"`
}

// MarshalJSON encodes the stats losslessly (up to the histogram's
// resolution).
func (s *Stats) MarshalJSON() ([]byte, error) {
	w := statsJSON{
		Transactions: s.Transactions, Retries: s.Retries, Conflicts: s.Conflicts, Rows: s.Rows,
		ElapsedNanos: int64(s.Elapsed), Latencies: map[Op]map[uint64]uint64{},
	}
	for op, l := range s.ops {
		w.Latencies[op] = l.buckets
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
		Elapsed: time.Duration(w.ElapsedNanos), ops: map[Op]*Latencies{},
	}
	for op, buckets := range w.Latencies {
		l := s.Latency(op)
		for ns, n := range buckets {
			if quantise(ns) != ns {
				return fmt.Errorf("bench stats: latency %dns of %s is not a quantised value", ns, op)
			}
			l.addQuantised(ns, n)
		}
	}
	return nil
}
