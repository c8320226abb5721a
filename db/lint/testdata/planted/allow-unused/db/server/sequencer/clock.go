package sequencer

import "time"

//lint:allow time the sequencer paces versions by the real clock
func stamp(now time.Time) time.Time {
	return now
}
