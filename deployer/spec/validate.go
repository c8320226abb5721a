package spec

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

var (
	// clusterNameRE follows FoundationDB's cluster file description rule.
	clusterNameRE = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
	// hostNameRE keeps host names usable in process IDs, file names and
	// command lines.
	hostNameRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	localityRE  = hostNameRE
	versionRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]*$`)
	sha256RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	dnsLabelsRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`)
)

func checkPort(port int, rng hcl.Range, what string) hcl.Diagnostics {
	if port < 1 || port > 65535 {
		return hcl.Diagnostics{errorf(rng, "Invalid port", "%s must be between 1 and 65535; got %d.", what, port)}
	}
	return nil
}

// checkAddress accepts an IP address or a DNS name, without a port.
func checkAddress(addr string, rng hcl.Range) hcl.Diagnostics {
	if _, err := netip.ParseAddr(addr); err == nil {
		return nil
	}
	if dnsLabelsRE.MatchString(addr) && len(addr) <= 253 {
		return nil
	}
	return hcl.Diagnostics{errorf(rng, "Invalid address",
		"%q is neither an IP address nor a DNS name (give the port separately).", addr)}
}

func checkAbsPath(p string, rng hcl.Range) hcl.Diagnostics {
	if !path.IsAbs(p) {
		return hcl.Diagnostics{errorf(rng, "Invalid path",
			"%q is not an absolute path; paths on hosts must start with /.", p)}
	}
	return nil
}

// splitHostPort splits "name:port"; the name may be a bracketed IPv6
// address.
func splitHostPort(s string) (string, int, bool) {
	i := strings.LastIndexByte(s, ':')
	if i <= 0 {
		return "", 0, false
	}
	name := strings.TrimSuffix(strings.TrimPrefix(s[:i], "["), "]")
	port, err := strconv.Atoi(s[i+1:])
	if err != nil || port < 1 || port > 65535 || name == "" {
		return "", 0, false
	}
	return name, port, true
}

// byteUnits are the suffixes parseBytes accepts, longest first.
var byteUnits = []struct {
	suffix string
	factor uint64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseBytes reads a size such as "8GiB", "512MB" or "1048576".
func parseBytes(s string) (uint64, error) {
	text := strings.TrimSpace(s)
	factor := uint64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(text, u.suffix) {
			text, factor = strings.TrimSpace(strings.TrimSuffix(text, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseUint(text, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size; write a whole number with an optional unit (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", s)
	}
	if n > (1<<63)/factor {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * factor, nil
}
