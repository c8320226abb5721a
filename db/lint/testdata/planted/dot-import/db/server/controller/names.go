package controller

import . "time"

var _ = Now
