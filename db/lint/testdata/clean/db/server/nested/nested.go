package nested

import "time"

var _ = time.Sleep
