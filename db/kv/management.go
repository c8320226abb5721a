package kv

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Management keys: the system keys through which operators (strata cli,
// the deployer) ask the cluster for a configuration, exclusions,
// maintenance, a lock or new coordinators, and through which the server
// roles learn them. The layout is FoundationDB's (fdbclient/SystemData.cpp)
// with Strata's spelling where FoundationDB's values are binary
// serializations of C++ types:
//
//	\xff/conf/<name>              configuration, the value as text (ConfKey)
//	\xff/conf/excluded/<target>   an exclusion, value "" (ExclusionKey)
//	\xff/conf/failed/<target>     an exclusion of a failed process, value ""
//	\xff/healthyZone              maintenance: zone and expiry (HealthyZone)
//	\xff/dbLocked                 the lock's UID, 16 bytes (LockUID)
//	\xff/coordinators             requested connection string, as text
var (
	// ConfPrefix starts the configuration keys, \xff/conf/.
	ConfPrefix = []byte("\xff/conf/")
	// ExcludedPrefix starts the exclusions, \xff/conf/excluded/ (FDB's
	// excludedServersPrefix and, under the same prefix here, its
	// excludedLocalityPrefix: a locality target starts with "locality_",
	// an address never does).
	ExcludedPrefix = []byte("\xff/conf/excluded/")
	// FailedPrefix starts the exclusions of failed processes,
	// \xff/conf/failed/ (FDB's failedServersPrefix and
	// failedLocalityPrefix): their data is not drained but dropped and
	// re-replicated from the other replicas.
	FailedPrefix = []byte("\xff/conf/failed/")
	// HealthyZoneKey holds the zone in maintenance, \xff/healthyZone:
	// data distribution does not move data away from that zone's servers
	// while they are down, until the expiry version. Absent: no
	// maintenance.
	HealthyZoneKey = []byte("\xff/healthyZone")
	// DBLockedKey holds the UID of the lock on the database,
	// \xff/dbLocked. While it is set, commit proxies refuse commits of
	// transactions that are not lock_aware with database_locked (1038).
	// Absent: unlocked.
	DBLockedKey = []byte("\xff/dbLocked")
	// CoordinatorsKey holds the connection string the operator asked for,
	// \xff/coordinators, in cluster-file syntax (description:ID@addr,...).
	// The cluster controller acts on it: it moves the coordinated state to
	// those coordinators and rewrites the cluster files; clients see the
	// change in their cluster file and in status json's
	// cluster.connection_string.
	CoordinatorsKey = []byte("\xff/coordinators")
)

// Configuration names under ConfPrefix. The values are text: mode and
// engine names as `configure' takes them, counts in decimal. The
// deployer writes the first two (deployer/apply), and cmd/strata's server
// reads them for status.
const (
	ConfRedundancyMode = "redundancy_mode"
	ConfStorageEngine  = "storage_engine"
	ConfCommitProxies  = "commit_proxies"
	ConfGRVProxies     = "grv_proxies"
	ConfResolvers      = "resolvers"
	ConfLogs           = "logs"
)

// ConfKey returns the configuration key of name: \xff/conf/<name>.
func ConfKey(name string) []byte { return append(bytes.Clone(ConfPrefix), name...) }

// MaxRoleCount bounds the role counts a configuration may ask for; more
// is a typing error rather than a cluster.
const MaxRoleCount = 1000

// RedundancyModes are the redundancy modes `configure' accepts, with their
// storage replica counts (fdb.md §6.4).
var RedundancyModes = map[string]int{"single": 1, "double": 2, "triple": 3, "three_data_hall": 3}

// StorageEngines are the storage engines `configure' accepts.
var StorageEngines = []string{"ssd", "memory"}

// Configuration is the database configuration held under ConfPrefix.
// Empty strings and zero counts are settings never written (the cluster's
// defaults apply).
type Configuration struct {
	RedundancyMode string
	StorageEngine  string
	CommitProxies  int
	GRVProxies     int
	Resolvers      int
	Logs           int
}

// Configured reports whether the database was ever configured (`configure
// new' or the deployer wrote a redundancy mode).
func (c Configuration) Configured() bool { return c.RedundancyMode != "" }

// counts names the role counts for encoding and decoding.
func (c *Configuration) counts() map[string]*int {
	return map[string]*int{
		ConfCommitProxies: &c.CommitProxies, ConfGRVProxies: &c.GRVProxies,
		ConfResolvers: &c.Resolvers, ConfLogs: &c.Logs,
	}
}

// Validate checks the settings that are set: known mode and engine, counts
// in 1..MaxRoleCount.
func (c Configuration) Validate() error {
	if _, ok := RedundancyModes[c.RedundancyMode]; c.RedundancyMode != "" && !ok {
		return fmt.Errorf("unknown redundancy mode %q", c.RedundancyMode)
	}
	if c.StorageEngine != "" && !isStorageEngine(c.StorageEngine) {
		return fmt.Errorf("unknown storage engine %q", c.StorageEngine)
	}
	for _, name := range []string{ConfCommitProxies, ConfGRVProxies, ConfResolvers, ConfLogs} {
		if n := *c.counts()[name]; n < 0 || n > MaxRoleCount {
			return fmt.Errorf("%s=%d: want 1 to %d", name, n, MaxRoleCount)
		}
	}
	return nil
}

func isStorageEngine(s string) bool {
	for _, e := range StorageEngines {
		if e == s {
			return true
		}
	}
	return false
}

// Encode returns the keys and values of the settings that are set, in key
// order.
func (c Configuration) Encode() []KeyValue {
	var out []KeyValue
	add := func(name, v string) { out = append(out, KeyValue{Key: ConfKey(name), Value: []byte(v)}) }
	counts := c.counts()
	for _, name := range []string{ConfCommitProxies, ConfGRVProxies, ConfLogs} {
		if n := *counts[name]; n != 0 {
			add(name, strconv.Itoa(n))
		}
	}
	if c.RedundancyMode != "" {
		add(ConfRedundancyMode, c.RedundancyMode)
	}
	if c.Resolvers != 0 {
		add(ConfResolvers, strconv.Itoa(c.Resolvers))
	}
	if c.StorageEngine != "" {
		add(ConfStorageEngine, c.StorageEngine)
	}
	return out
}

// DecodeConfiguration reads the configuration from the rows of a range
// read of ConfPrefix. Rows below \xff/conf/ that are not settings (the
// exclusions, names Strata does not know) are skipped; a count that is not
// a decimal number is an error.
func DecodeConfiguration(rows []KeyValue) (Configuration, error) {
	var c Configuration
	counts := c.counts()
	for _, r := range rows {
		name, ok := bytes.CutPrefix(r.Key, ConfPrefix)
		if !ok {
			continue
		}
		switch n := string(name); n {
		case ConfRedundancyMode:
			c.RedundancyMode = string(r.Value)
		case ConfStorageEngine:
			c.StorageEngine = string(r.Value)
		case ConfCommitProxies, ConfGRVProxies, ConfResolvers, ConfLogs:
			v, err := strconv.Atoi(string(r.Value))
			if err != nil {
				return c, fmt.Errorf("configuration %s = %q: not a number", n, r.Value)
			}
			*counts[n] = v
		}
	}
	return c, nil
}

// Exclusion names the processes an exclusion applies to: one process
// (Host and Port), every process of a machine (Host, Port 0), or every
// process with a locality value (LocalityKey and LocalityValue).
type Exclusion struct {
	Host          string // an IP address (IPv6 without brackets) or a hostname
	Port          int
	LocalityKey   string // zoneid, machineid, dcid, data_hall or processid
	LocalityValue string
}

// localityPrefix starts a locality exclusion's text, as FoundationDB's.
const localityPrefix = "locality_"

// ExclusionLocalities are the localities an exclusion may name.
var ExclusionLocalities = []string{"dcid", "zoneid", "machineid", "data_hall", "processid"}

// ErrBadExclusion is wrapped by ParseExclusion's errors.
var ErrBadExclusion = errors.New("neither a valid network endpoint address nor a locality")

// ParseExclusion parses an exclusion as `exclude' takes it: ip:port,
// [ipv6]:port, host:port, a bare IP address (the whole machine) or
// locality_<key>:<value>.
func ParseExclusion(s string) (Exclusion, error) {
	if rest, ok := strings.CutPrefix(s, localityPrefix); ok {
		key, value, found := strings.Cut(rest, ":")
		if !found || value == "" || !isExclusionLocality(key) {
			return Exclusion{}, fmt.Errorf("%q: %w", s, ErrBadExclusion)
		}
		return Exclusion{LocalityKey: key, LocalityValue: value}, nil
	}
	if ip, err := netip.ParseAddr(s); err == nil && ip.Zone() == "" {
		return Exclusion{Host: ip.String()}, nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Port() != 0 && ap.Addr().Zone() == "" {
		return Exclusion{Host: ap.Addr().String(), Port: int(ap.Port())}, nil
	}
	i := strings.LastIndexByte(s, ':')
	if i > 0 && validHostname(s[:i]) {
		if p, err := strconv.ParseUint(s[i+1:], 10, 16); err == nil && p != 0 {
			return Exclusion{Host: strings.ToLower(s[:i]), Port: int(p)}, nil
		}
	}
	return Exclusion{}, fmt.Errorf("%q: %w", s, ErrBadExclusion)
}

func isExclusionLocality(key string) bool {
	for _, k := range ExclusionLocalities {
		if k == key {
			return true
		}
	}
	return false
}

// validHostname accepts letters, digits, '-' and '.', not all digits and
// dots (that would be a malformed IP address).
func validHostname(h string) bool {
	if h == "" || strings.Trim(h, "0123456789.") == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// IsLocality reports whether e names a locality rather than addresses.
func (e Exclusion) IsLocality() bool { return e.LocalityKey != "" }

// String formats e as ParseExclusion takes it (and as the key holds it).
func (e Exclusion) String() string {
	switch {
	case e.IsLocality():
		return localityPrefix + e.LocalityKey + ":" + e.LocalityValue
	case e.Port == 0:
		return e.Host
	case strings.Contains(e.Host, ":"):
		return "[" + e.Host + "]:" + strconv.Itoa(e.Port)
	}
	return e.Host + ":" + strconv.Itoa(e.Port)
}

// Matches reports whether e applies to the process at address (host:port)
// with locality (status json's names: zoneid, machineid, dcid, data_hall,
// processid).
func (e Exclusion) Matches(address string, locality map[string]string) bool {
	if e.IsLocality() {
		v, ok := locality[e.LocalityKey]
		return ok && v == e.LocalityValue
	}
	p, err := ParseExclusion(address)
	if err != nil || p.IsLocality() {
		return false
	}
	return p.Host == e.Host && (e.Port == 0 || p.Port == e.Port)
}

// ExclusionKey returns e's key: \xff/conf/excluded/<e>, or
// \xff/conf/failed/<e> when failed.
func ExclusionKey(e Exclusion, failed bool) []byte {
	prefix := ExcludedPrefix
	if failed {
		prefix = FailedPrefix
	}
	return append(bytes.Clone(prefix), e.String()...)
}

// DecodeExclusionKey reads an exclusion key back.
func DecodeExclusionKey(key []byte) (e Exclusion, failed bool, err error) {
	text, ok := bytes.CutPrefix(key, ExcludedPrefix)
	if !ok {
		if text, ok = bytes.CutPrefix(key, FailedPrefix); !ok {
			return Exclusion{}, false, fmt.Errorf("%s is not an exclusion key", Printable(key))
		}
		failed = true
	}
	e, err = ParseExclusion(string(text))
	return e, failed, err
}

// HealthyZone is the zone under maintenance and the version at which the
// maintenance ends (FDB's healthyZone (zone, version) pair).
type HealthyZone struct {
	Zone  string
	Until Version
}

// EncodeHealthyZone is HealthyZoneKey's value: the expiry version as 8
// bytes big-endian, then the zone id's bytes.
func EncodeHealthyZone(z HealthyZone) []byte {
	out := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(z.Zone)), uint64(z.Until))
	return append(out, z.Zone...)
}

// DecodeHealthyZone reads HealthyZoneKey's value.
func DecodeHealthyZone(v []byte) (HealthyZone, error) {
	if len(v) < 8 {
		return HealthyZone{}, fmt.Errorf("%s value of %d bytes: want 8 or more", Printable(HealthyZoneKey), len(v))
	}
	return HealthyZone{Until: Version(binary.BigEndian.Uint64(v)), Zone: string(v[8:])}, nil
}

// LockUID identifies a lock on the database; the holder needs it to
// unlock. DBLockedKey's value is its 16 bytes.
type LockUID [16]byte

// String is the UID as fdbcli prints it: 32 lower-case hex digits.
func (u LockUID) String() string { return hex.EncodeToString(u[:]) }

// ParseLockUID reads 32 hex digits.
func ParseLockUID(s string) (LockUID, error) {
	var u LockUID
	if len(s) != 32 {
		return u, fmt.Errorf("lock UID %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(u[:], []byte(s)); err != nil {
		return u, fmt.Errorf("lock UID %q: want 32 hex digits", s)
	}
	return u, nil
}

// DecodeLockUID reads DBLockedKey's value.
func DecodeLockUID(v []byte) (LockUID, error) {
	var u LockUID
	if len(v) != len(u) {
		return u, fmt.Errorf("%s value of %d bytes: want %d", Printable(DBLockedKey), len(v), len(u))
	}
	copy(u[:], v)
	return u, nil
}

// TxsTag is the log tag of the transactions that change the lock
// (DBLockedKey): the commit proxy that commits one also tags its lock
// mutations with TxsTag, so a recovery finds every lock change the
// coordinated state does not hold yet in the locked logs (FoundationDB's
// txsTag). No storage server gets this tag.
const TxsTag uint32 = 1<<32 - 1

// RetiredTagPop is the pop point of a storage tag the cluster retired —
// its storage server was removed, or its recruitment given up: no version
// of the tag is needed again, and a storage server that still peeks it
// learns it was removed.
const RetiredTagPop int64 = math.MaxInt64
