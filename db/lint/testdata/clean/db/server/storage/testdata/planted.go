package testdata

import "time"

var _ = time.Now
