package worker

import (
	"fmt"
	"net"
)

var _ = fmt.Sprint(net.IPv4len)
