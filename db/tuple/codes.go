package tuple

import "fmt"

// Type codes from FoundationDB's design/tuple.md.
const (
	codeNull         = 0x00
	codeBytes        = 0x01
	codeString       = 0x02
	codeNested       = 0x05
	codeNegBigInt    = 0x0b
	codeNegInt8      = 0x0c // negative integer of 8 bytes; 0x13 is 1 byte
	codeIntZero      = 0x14
	codePosInt8      = 0x1c // positive integer of 8 bytes; 0x15 is 1 byte
	codePosBigInt    = 0x1d
	codeFloat32      = 0x20
	codeFloat64      = 0x21
	codeFalse        = 0x26
	codeTrue         = 0x27
	codeUUID         = 0x30
	codeVersionstamp = 0x33

	// escapeByte follows a 0x00 inside byte strings, unicode strings and
	// nested tuples to mark that the 0x00 is data, not a terminator.
	escapeByte = 0xff
)

// Payload sizes of the fixed-width types.
const (
	uuidLen               = 16
	transactionVersionLen = 10
	versionstampLen       = transactionVersionLen + 2
	// maxBigIntLen is the most magnitude bytes the one-byte length of the
	// arbitrary-precision integer codes can describe.
	maxBigIntLen = 255
)

// codeDescription says why a byte that is not an element type code was
// rejected, so that decode errors point at deprecated or reserved codes.
func codeDescription(c byte) string {
	switch {
	case c == 0x03 || c == 0x04 || c == 0x25:
		return fmt.Sprintf("deprecated type code 0x%02x", c)
	case c == 0x0a || c == 0x1e || (c >= 0x22 && c <= 0x24) || (c >= 0x31 && c <= 0x32) ||
		(c >= 0x34 && c <= 0x35) || (c >= 0x40 && c <= 0x4f) || c == 0xf0:
		return fmt.Sprintf("reserved type code 0x%02x not supported", c)
	case c == escapeByte:
		return "escape byte 0xff where a type code belongs"
	default:
		return fmt.Sprintf("unknown type code 0x%02x", c)
	}
}
