package sequencer

import "time"

func stamp() time.Time {
	return time.Now() //lint:allow clock the sequencer needs real time
}
