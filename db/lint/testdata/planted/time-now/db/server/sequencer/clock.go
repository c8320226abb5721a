package sequencer

import "time"

func stamp() time.Time {
	return time.Now()
}
