package register

import (
	"os"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Stats counts a history's operations.
type Stats struct {
	Reads, Writes, Swaps, FailedSwaps, Unknown int
}

// Count counts the operations of history.
func Count(history []porcupine.Operation) Stats {
	var s Stats
	for _, op := range history {
		in, out := op.Input.(Input), op.Output.(Output)
		switch {
		case out.Unknown:
			s.Unknown++
		case in.Kind == Read:
			s.Reads++
		case in.Kind == Write:
			s.Writes++
		case out.Swapped:
			s.Swaps++
		default:
			s.FailedSwaps++
		}
	}
	return s
}

// Check fails t unless porcupine finds history linearizable within
// timeout: an illegal history fails, and so does one the checker cannot
// decide in time. An illegal history is written as porcupine's HTML
// visualization to a file named in the failure.
func Check(t testing.TB, history []porcupine.Operation, timeout time.Duration) {
	t.Helper()
	s := Count(history)
	t.Logf("%d operations: %d reads, %d writes, %d compare-and-sets swapped and %d not, %d of unknown outcome",
		len(history), s.Reads, s.Writes, s.Swaps, s.FailedSwaps, s.Unknown)
	if s.Reads == 0 || s.Writes+s.Swaps == 0 {
		t.Fatalf("the history has no reads or no acknowledged writes: %+v", s)
	}
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(Model, history, timeout)
	t.Logf("porcupine: %s in %v", res, time.Since(start).Round(time.Millisecond))
	switch res {
	case porcupine.Ok:
	case porcupine.Illegal:
		t.Errorf("the history is not linearizable%s", visualize(info))
	default:
		t.Errorf("porcupine could not decide within %v (%s): an undecided history fails", timeout, res)
	}
}

// visualize writes info's visualization to a file that outlives the test
// and returns a note naming it.
func visualize(info porcupine.LinearizationInfo) string {
	f, err := os.CreateTemp("", "strata-linearizability-*.html")
	if err != nil {
		return ""
	}
	defer f.Close()
	if err := porcupine.Visualize(Model, info, f); err != nil {
		return ""
	}
	return "; porcupine's visualization: " + f.Name()
}
