package tuple

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// String renders t in an FDB-like notation for people, as `strata cli` prints
// keys that decode as tuples:
//
//	("tenant", 42, b"\x01\xffk", nil, (true, -1.5), float32(2.0),
//	 UUID("00112233-4455-6677-8899-aabbccddeeff"), Versionstamp(incomplete, 0))
//
// Elements are separated by ", " inside parentheses; a nested tuple is a
// parenthesised group. Unicode strings are Go-quoted (strconv.Quote). Byte
// strings are b"…" with printable ASCII as is, `\` and `"` backslash-escaped,
// every other byte as \xNN. Integers of any size are decimal. float64 values
// use the shortest decimal that round-trips, always with a '.' or an
// exponent so they do not read as integers, and NaN, +Inf, -Inf; float32
// values are the same wrapped in float32(…). Booleans are true and false,
// nil is nil, UUIDs are UUID("…") in canonical form and versionstamps are
// Versionstamp(<20 hex digits>, <user version>) or
// Versionstamp(incomplete, <user version>). NaN payloads are not shown.
func (t Tuple) String() string {
	var sb strings.Builder
	writeTuple(&sb, t)
	return sb.String()
}

func writeTuple(sb *strings.Builder, t Tuple) {
	sb.WriteByte('(')
	for i, v := range t {
		if i > 0 {
			sb.WriteString(", ")
		}
		writeElement(sb, v)
	}
	sb.WriteByte(')')
}

func writeElement(sb *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		sb.WriteString("nil")
	case []byte:
		writeByteString(sb, v)
	case string:
		sb.WriteString(strconv.Quote(v))
	case Tuple:
		writeTuple(sb, v)
	case float32:
		sb.WriteString("float32(")
		sb.WriteString(formatFloat(float64(v), 32))
		sb.WriteByte(')')
	case float64:
		sb.WriteString(formatFloat(v, 64))
	case bool:
		sb.WriteString(strconv.FormatBool(v))
	case UUID:
		sb.WriteString(`UUID("` + v.String() + `")`)
	case Versionstamp:
		sb.WriteString(v.String())
	case *big.Int:
		sb.WriteString(v.String()) // "<nil>" for a nil pointer
	case big.Int:
		sb.WriteString(v.String())
	default:
		if isInteger(v) {
			fmt.Fprintf(sb, "%d", v)
			return
		}
		fmt.Fprintf(sb, "<unsupported %T>", v)
	}
}

func writeByteString(sb *strings.Builder, b []byte) {
	const hexDigits = "0123456789abcdef"
	sb.WriteString(`b"`)
	for _, c := range b {
		switch {
		case c == '\\' || c == '"':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			sb.WriteByte(c)
		default:
			sb.WriteString(`\x`)
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&0x0f])
		}
	}
	sb.WriteByte('"')
}

func formatFloat(f float64, bitSize int) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, bitSize)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}
