package client

import "net/http"

var _ = http.Get
