package wire

import "fmt"

// ProtocolVersion identifies the wire protocol a release speaks. Like
// FoundationDB's it is a 64-bit value; Strata lays it out as
// 0x5354 (magic "ST") << 48 | major << 32 | minor << 16 | patch, so two
// versions compare numerically in release order.
type ProtocolVersion uint64

const protocolMagic = 0x5354

// NewProtocolVersion builds a version from its release components.
func NewProtocolVersion(major, minor, patch uint16) ProtocolVersion {
	return ProtocolVersion(uint64(protocolMagic)<<48 | uint64(major)<<32 | uint64(minor)<<16 | uint64(patch))
}

// CurrentProtocol is the protocol this build speaks.
var CurrentProtocol = NewProtocolVersion(0, 1, 0)

// Valid reports whether v carries Strata's magic.
func (v ProtocolVersion) Valid() bool { return uint64(v)>>48 == protocolMagic }

// Major returns the major release number.
func (v ProtocolVersion) Major() uint16 { return uint16(v >> 32) }

// Minor returns the minor release number.
func (v ProtocolVersion) Minor() uint16 { return uint16(v >> 16) }

// Patch returns the patch number; patches never change the protocol's shape.
func (v ProtocolVersion) Patch() uint16 { return uint16(v) }

// Previous returns the protocol of the previous minor release, which v also
// speaks so that upgrades can roll host by host. For minor 0 it is v itself.
func (v ProtocolVersion) Previous() ProtocolVersion {
	if v.Minor() == 0 {
		return NewProtocolVersion(v.Major(), 0, 0)
	}
	return NewProtocolVersion(v.Major(), v.Minor()-1, 0)
}

func (v ProtocolVersion) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch())
}

// Compatible reports whether two processes speaking local and remote can
// talk: same major release, and minors equal or adjacent (each release speaks
// its own minor's protocol and the previous minor's). Patches always mix.
func Compatible(local, remote ProtocolVersion) bool {
	if !local.Valid() || !remote.Valid() || local.Major() != remote.Major() {
		return false
	}
	a, b := local.Minor(), remote.Minor()
	return a == b || a == b+1 || b == a+1
}

// Negotiate returns the protocol two compatible peers use: the older of the
// two minors, so the newer release talks down to the older one.
func Negotiate(local, remote ProtocolVersion) (ProtocolVersion, error) {
	if !Compatible(local, remote) {
		return 0, fmt.Errorf("wire: incompatible protocol versions: local %s, remote %s", local, remote)
	}
	if remote.Minor() < local.Minor() {
		return NewProtocolVersion(remote.Major(), remote.Minor(), 0), nil
	}
	return NewProtocolVersion(local.Major(), local.Minor(), 0), nil
}
