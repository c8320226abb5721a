package cycle

import "time"

var clock = time.Now
