package ratekeeper

import "os"

func knob() string { return os.Getenv("STRATA_KNOB") }
