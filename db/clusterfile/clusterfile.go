package clusterfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
)

// ClusterFile is a parsed cluster file: the cluster's name (description and
// ID) and its coordinators, in the order the file lists them.
type ClusterFile struct {
	Description  string
	ID           string
	Coordinators []Coordinator
}

// Coordinator is one coordinator's address: an IP address or a hostname,
// and a port.
type Coordinator struct {
	// Host is an IP address (IPv6 without brackets) or a hostname, as
	// written in the file.
	Host string
	Port uint16
}

// String formats the address as host:port, with IPv6 in brackets.
func (c Coordinator) String() string {
	if strings.Contains(c.Host, ":") {
		return "[" + c.Host + "]:" + strconv.Itoa(int(c.Port))
	}
	return c.Host + ":" + strconv.Itoa(int(c.Port))
}

// IsHostname reports whether Host is a name to resolve rather than an IP
// address.
func (c Coordinator) IsHostname() bool {
	_, err := netip.ParseAddr(c.Host)
	return err != nil
}

// identity is the form two coordinators are compared in: IP addresses in
// canonical form (so [::1] equals [0::1]) and hostnames in lower case.
func (c Coordinator) identity() string {
	if ip, err := netip.ParseAddr(c.Host); err == nil {
		return netip.AddrPortFrom(ip, c.Port).String()
	}
	return strings.ToLower(c.Host) + ":" + strconv.Itoa(int(c.Port))
}

// Key is the cluster's name, "description:ID". Coordinators keep the
// coordinated state and the leader election of a cluster under its key, so
// one coordinator process can serve an old and a new key during a change
// of coordinators.
func (f ClusterFile) Key() string { return f.Description + ":" + f.ID }

// String formats f as a connection string, description:ID@addr,addr,...,
// the text a cluster file holds (without its trailing newline).
func (f ClusterFile) String() string {
	addrs := make([]string, len(f.Coordinators))
	for i, c := range f.Coordinators {
		addrs[i] = c.String()
	}
	return f.Key() + "@" + strings.Join(addrs, ",")
}

// Addresses returns the coordinators as host:port strings, in file order.
func (f ClusterFile) Addresses() []string {
	out := make([]string, len(f.Coordinators))
	for i, c := range f.Coordinators {
		out[i] = c.String()
	}
	return out
}

// Validate checks that f would parse back to itself: the same rules as
// Parse, applied to a value built in code.
func (f ClusterFile) Validate() error {
	g, err := Parse(f.String())
	if err != nil {
		return err
	}
	if len(g.Coordinators) != len(f.Coordinators) || g.String() != f.String() {
		return fmt.Errorf("cluster file %q does not parse back to itself", f.String())
	}
	return nil
}

// ErrInvalid matches every parse error (errors.Is), so callers can tell a
// bad file from an unreadable one.
var ErrInvalid = errors.New("invalid cluster file")

// ParseError says what is wrong with a cluster file's text.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

// Is makes every ParseError match ErrInvalid.
func (e *ParseError) Is(target error) bool { return target == ErrInvalid }

// invalid returns a parse error saying what is wrong.
func invalid(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// Parse parses the text of a cluster file (or a bare connection string).
func Parse(text string) (ClusterFile, error) {
	s := stripCommentsAndSpace(text)
	if s == "" {
		return ClusterFile{}, invalid("no connection string (the file is empty or only comments)")
	}
	key, addrs, ok := strings.Cut(s, "@")
	if !ok {
		return ClusterFile{}, invalid("no '@' between description:ID and the coordinators in %q", s)
	}
	f, err := parseKey(key)
	if err != nil {
		return ClusterFile{}, err
	}
	if f.Coordinators, err = parseCoordinators(addrs); err != nil {
		return ClusterFile{}, err
	}
	return f, nil
}

// stripCommentsAndSpace drops every '#' comment and then every whitespace
// byte (C's isspace), as FoundationDB does before parsing.
func stripCommentsAndSpace(text string) string {
	var sb strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for i := 0; i < len(line); i++ {
			if !strings.ContainsRune(" \t\r\v\f", rune(line[i])) {
				sb.WriteByte(line[i])
			}
		}
	}
	return sb.String()
}

// ValidateKey checks a cluster key, "description:ID", by the cluster
// file's rules. Coordinators use it to refuse requests for keys no cluster
// file could name.
func ValidateKey(key string) error {
	_, err := parseKey(key)
	return err
}

func parseKey(key string) (ClusterFile, error) {
	if strings.Count(key, ":") != 1 {
		return ClusterFile{}, invalid("%q before '@' must be description:ID with exactly one ':', found %d", key, strings.Count(key, ":"))
	}
	desc, id, _ := strings.Cut(key, ":")
	if desc == "" {
		return ClusterFile{}, invalid("the description before ':' is empty")
	}
	if bad, ok := firstBadByte(desc, true); ok {
		return ClusterFile{}, invalid("description %q: only letters, digits and '_' are allowed, found %q", desc, bad)
	}
	if id == "" {
		return ClusterFile{}, invalid("the ID between ':' and '@' is empty")
	}
	if bad, ok := firstBadByte(id, false); ok {
		return ClusterFile{}, invalid("ID %q: only letters and digits are allowed, found %q", id, bad)
	}
	return ClusterFile{Description: desc, ID: id}, nil
}

// firstBadByte returns the first byte of s outside [a-zA-Z0-9] (plus '_'
// when underscore is set).
func firstBadByte(s string, underscore bool) (string, bool) {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) && !(underscore && s[i] == '_') {
			return s[i : i+1], true
		}
	}
	return "", false
}

func isAlnum(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func parseCoordinators(s string) ([]Coordinator, error) {
	if s == "" {
		return nil, invalid("no coordinators after '@'")
	}
	var out []Coordinator
	seen := map[string]bool{}
	for i, a := range strings.Split(s, ",") {
		if a == "" {
			return nil, invalid("coordinator %d is empty (a stray ',')", i+1)
		}
		c, err := ParseCoordinator(a)
		if err != nil {
			return nil, err
		}
		if seen[c.identity()] {
			return nil, invalid("coordinator %q is listed twice", a)
		}
		seen[c.identity()] = true
		out = append(out, c)
	}
	return out, nil
}

// ParseCoordinator parses one host:port address: an IPv4 address, an IPv6
// address in brackets, or a hostname.
func ParseCoordinator(a string) (Coordinator, error) {
	if strings.HasSuffix(a, ":tls") {
		return Coordinator{}, invalid("coordinator %q: the ':tls' suffix is not supported (Strata has no TLS transport)", a)
	}
	host, port, err := splitHostPort(a)
	if err != nil {
		return Coordinator{}, err
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return Coordinator{}, invalid("coordinator %q: port %q is not a number in 1..65535", a, port)
	}
	return Coordinator{Host: host, Port: uint16(n)}, nil
}

// splitHostPort splits a at its port and checks the host part.
func splitHostPort(a string) (host, port string, err error) {
	if rest, ok := strings.CutPrefix(a, "["); ok {
		end := strings.Index(rest, "]")
		if end < 0 {
			return "", "", invalid("coordinator %q: missing ']' after the IPv6 address", a)
		}
		host, after := rest[:end], rest[end+1:]
		port, ok := strings.CutPrefix(after, ":")
		if !ok {
			return "", "", invalid("coordinator %q: missing ':port' after ']'", a)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", "", invalid("coordinator %q: %q in brackets is not an IPv6 address", a, host)
		}
		return host, port, nil
	}
	i := strings.LastIndexByte(a, ':')
	if i < 0 {
		return "", "", invalid("coordinator %q: missing ':port'", a)
	}
	host, port = a[:i], a[i+1:]
	switch {
	case host == "":
		return "", "", invalid("coordinator %q: the host before ':' is empty", a)
	case strings.Contains(host, ":"):
		return "", "", invalid("coordinator %q: an IPv6 address needs brackets, as in [::1]:4500", a)
	case onlyDigitsAndDots(host):
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is4() {
			return "", "", invalid("coordinator %q: %q is not a valid IPv4 address", a, host)
		}
	case !validHostname(host):
		return "", "", invalid("coordinator %q: %q is not a valid hostname (labels of letters, digits and inner '-', at most 63 bytes each)", a, host)
	}
	return host, port, nil
}

func onlyDigitsAndDots(s string) bool {
	return strings.Trim(s, "0123456789.") == ""
}

// validHostname checks RFC 1123 syntax: dot-separated labels of letters,
// digits and '-', not starting or ending with '-', 1..63 bytes each, at most
// 253 in all; one trailing dot (a fully qualified name) is allowed.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !isAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

// NewID returns a fresh random eight-character ID, as FoundationDB
// recommends; the ID changes whenever the coordinators change. Role code
// passes its Env's random source.
func NewID(r *rand.Rand) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 8)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
