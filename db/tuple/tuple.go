package tuple

import (
	"encoding/hex"
	"fmt"
)

// Tuple is an ordered list of elements of the types listed in the package
// documentation. Its packed form sorts bytewise in the order [Compare]
// defines.
type Tuple []any

// UUID is an RFC 4122 UUID in network byte order (type code 0x30).
type UUID [uuidLen]byte

// String returns the UUID in its canonical 8-4-4-4-12 lowercase hex form.
func (u UUID) String() string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:36], u[10:16])
	return string(b[:])
}

// Versionstamp is FoundationDB's 96-bit versionstamp (type code 0x33): a
// 10-byte transaction version (8-byte big-endian commit version, then a
// 2-byte big-endian batch order) assigned by the database at commit, and a
// 2-byte user version that orders several stamps of one transaction.
type Versionstamp struct {
	TransactionVersion [transactionVersionLen]byte
	UserVersion        uint16
}

// incompleteTransactionVersion marks a versionstamp the database has not yet
// filled in.
var incompleteTransactionVersion = [transactionVersionLen]byte{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// IncompleteVersionstamp returns a versionstamp whose transaction version the
// database fills in when the key packed by [Tuple.PackWithVersionstamp] is
// written with set_versionstamped_key.
func IncompleteVersionstamp(userVersion uint16) Versionstamp {
	return Versionstamp{TransactionVersion: incompleteTransactionVersion, UserVersion: userVersion}
}

// IsComplete reports whether the transaction version has been assigned, that
// is, is not ten 0xff bytes.
func (v Versionstamp) IsComplete() bool {
	return v.TransactionVersion != incompleteTransactionVersion
}

// String returns "Versionstamp(<20 hex digits>, <user version>)", or
// "Versionstamp(incomplete, <user version>)" before commit.
func (v Versionstamp) String() string {
	if !v.IsComplete() {
		return fmt.Sprintf("Versionstamp(incomplete, %d)", v.UserVersion)
	}
	return fmt.Sprintf("Versionstamp(%x, %d)", v.TransactionVersion[:], v.UserVersion)
}

// Range returns the key range holding every tuple that extends t by at least
// one element, as FoundationDB defines it: [Pack(t)+0x00, Pack(t)+0xff).
// t itself is not in the range.
func Range(t Tuple) (begin, end []byte) {
	p := t.Pack()
	begin = make([]byte, len(p)+1)
	copy(begin, p)
	begin[len(p)] = 0x00
	end = make([]byte, len(p)+1)
	copy(end, p)
	end[len(p)] = 0xff
	return begin, end
}
