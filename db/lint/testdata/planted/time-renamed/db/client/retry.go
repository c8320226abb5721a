package client

import stdtime "time"

func backoff(d stdtime.Duration) {
	stdtime.Sleep(d)
}
