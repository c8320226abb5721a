package old

import "net"

var _ = net.Dial
