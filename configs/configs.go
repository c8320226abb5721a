// Package configs holds the example cluster descriptions. local.hcl is
// embedded in the binary as the default description (one machine, local
// transport); the others show single, double, triple and three_data_hall
// clusters and are kept valid by this package's test.
package configs

import _ "embed"

// Local is configs/local.hcl: three zones of processes on 127.0.0.1 reached
// with the local transport, so `double` redundancy works on one machine.
//
//go:embed local.hcl
var Local []byte

// LocalName is the file name diagnostics use for Local.
const LocalName = "local.hcl"
