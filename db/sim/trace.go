package sim

import (
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"time"

	"github.com/strata-db/strata/db/flow"
)

// tracer hashes everything that happens in a run, in order, so two runs can
// be compared by one number; it also keeps the last events for failure
// reports.
type tracer struct {
	h      hash.Hash64
	buf    []byte
	recent []string
	keep   int
	out    io.Writer // optional: every event, as text
	events uint64
}

func newTracer(keep int, out io.Writer) *tracer {
	return &tracer{h: fnv.New64a(), keep: keep, out: out}
}

func (t *tracer) record(line string) {
	t.events++
	t.h.Write([]byte(line))
	t.h.Write([]byte{'\n'})
	if t.keep > 0 {
		if len(t.recent) >= t.keep {
			copy(t.recent, t.recent[1:])
			t.recent = t.recent[:t.keep-1]
		}
		t.recent = append(t.recent, line)
	}
	if t.out != nil {
		fmt.Fprintln(t.out, line)
	}
}

// Trace implements flow.Tracer.
func (t *tracer) Trace(ev flow.TraceEvent) {
	b := t.buf[:0]
	b = fmt.Appendf(b, "%d %s %s %s", ev.Time.UnixNano(), ev.Address, ev.Severity, ev.Type)
	for _, d := range ev.Details {
		b = fmt.Appendf(b, " %s=%v", d.Key, d.Value)
	}
	t.buf = b
	t.record(string(b))
}

// delivery hashes one message delivery without formatting it as text.
func (t *tracer) delivery(at time.Time, from, to flow.Address, token uint64, payload []byte) {
	t.events++
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(at.UnixNano()))
	binary.LittleEndian.PutUint64(hdr[8:], token)
	t.h.Write(hdr[:])
	t.h.Write([]byte(from))
	t.h.Write([]byte(to))
	t.h.Write(payload)
}

func (t *tracer) sum() uint64 { return t.h.Sum64() }
