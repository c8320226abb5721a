package tuple

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"unicode/utf8"
)

// maxNesting bounds nested-tuple depth in Unpack so that hostile input
// cannot exhaust the goroutine stack. Real keys nest a handful of levels.
const maxNesting = 1000

// DecodeError describes malformed tuple bytes: what is wrong and the byte
// offset, counted from the start of the input to Unpack, where the offending
// element (or byte) begins.
type DecodeError struct {
	Offset int
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("tuple: %s at offset %d", e.Reason, e.Offset)
}

// Unpack decodes a packed tuple. Integers come back as int64, uint64 or
// *big.Int as the package documentation describes; byte strings are copied
// out of b. Any malformed input yields a *DecodeError.
func Unpack(b []byte) (Tuple, error) {
	t, _, err := unpack(b)
	return t, err
}

// unpack also reports whether b is the canonical encoding of the result, that
// is, whether Pack of the result gives back b.
func unpack(b []byte) (Tuple, bool, error) {
	d := decoder{in: b, canonical: true}
	t, err := d.tuple(0, 0)
	if err != nil {
		return nil, false, err
	}
	return t, d.canonical, nil
}

type decoder struct {
	in  []byte
	pos int
	// canonical stays true while every integer used its shortest form.
	canonical bool
}

func (d *decoder) fail(at int, format string, args ...any) error {
	return &DecodeError{Offset: at, Reason: fmt.Sprintf(format, args...)}
}

// tuple decodes elements until the input ends (depth 0) or until the 0x00
// that closes a nested tuple. start is the offset of the nested tuple's 0x05.
func (d *decoder) tuple(depth, start int) (Tuple, error) {
	if depth > maxNesting {
		return nil, d.fail(start, "nested tuples deeper than %d levels", maxNesting)
	}
	t := make(Tuple, 0, min(len(d.in)-d.pos, 8))
	for {
		if d.pos >= len(d.in) {
			if depth > 0 {
				return nil, d.fail(start, "unterminated nested tuple")
			}
			return t, nil
		}
		if depth > 0 && d.in[d.pos] == codeNull {
			if d.pos+1 < len(d.in) && d.in[d.pos+1] == escapeByte {
				t = append(t, nil)
				d.pos += 2
				continue
			}
			d.pos++
			return t, nil
		}
		v, err := d.element(depth)
		if err != nil {
			return nil, err
		}
		t = append(t, v)
	}
}

func (d *decoder) element(depth int) (any, error) {
	at := d.pos
	code := d.in[at]
	d.pos++
	switch {
	case code == codeNull:
		return nil, nil
	case code == codeBytes:
		return d.byteString(at)
	case code == codeString:
		return d.unicodeString(at)
	case code == codeNested:
		return d.tuple(depth+1, at)
	case code >= codeNegInt8 && code <= codePosInt8:
		return d.fixedInt(at, code)
	case code == codePosBigInt || code == codeNegBigInt:
		return d.bigInt(at, code)
	case code == codeFloat32:
		p, err := d.take(at, 4, "float32")
		if err != nil {
			return nil, err
		}
		return float32FromOrdered(binary.BigEndian.Uint32(p)), nil
	case code == codeFloat64:
		p, err := d.take(at, 8, "float64")
		if err != nil {
			return nil, err
		}
		return float64FromOrdered(binary.BigEndian.Uint64(p)), nil
	case code == codeFalse:
		return false, nil
	case code == codeTrue:
		return true, nil
	case code == codeUUID:
		p, err := d.take(at, uuidLen, "UUID")
		if err != nil {
			return nil, err
		}
		return UUID(p), nil
	case code == codeVersionstamp:
		p, err := d.take(at, versionstampLen, "versionstamp")
		if err != nil {
			return nil, err
		}
		return Versionstamp{
			TransactionVersion: [transactionVersionLen]byte(p),
			UserVersion:        binary.BigEndian.Uint16(p[transactionVersionLen:]),
		}, nil
	default:
		return nil, d.fail(at, "%s", codeDescription(code))
	}
}

// take consumes the n-byte payload of the element starting at at.
func (d *decoder) take(at, n int, what string) ([]byte, error) {
	if len(d.in)-d.pos < n {
		return nil, d.fail(at, "truncated %s: need %d payload bytes, have %d", what, n, len(d.in)-d.pos)
	}
	p := d.in[d.pos : d.pos+n]
	d.pos += n
	return p, nil
}

// span consumes an escaped, 0x00-terminated payload and returns its
// bounds in the input (terminator excluded) and how many 0x00 0xff escapes
// it holds.
func (d *decoder) span(at int, what string) (start, end, escapes int, err error) {
	start = d.pos
	for i := start; ; {
		j := bytes.IndexByte(d.in[i:], 0x00)
		if j < 0 {
			return 0, 0, 0, d.fail(at, "unterminated %s", what)
		}
		i += j
		if i+1 < len(d.in) && d.in[i+1] == escapeByte {
			escapes++
			i += 2
			continue
		}
		d.pos = i + 1
		return start, i, escapes, nil
	}
}

// unescape copies in[start:end] into a fresh slice, dropping the 0xff after
// each 0x00.
func unescape(in []byte, start, end, escapes int) []byte {
	out := make([]byte, 0, end-start-escapes)
	for i := start; i < end; i++ {
		out = append(out, in[i])
		if in[i] == 0x00 {
			i++
		}
	}
	return out
}

func (d *decoder) byteString(at int) ([]byte, error) {
	start, end, escapes, err := d.span(at, "byte string")
	if err != nil {
		return nil, err
	}
	return unescape(d.in, start, end, escapes), nil
}

func (d *decoder) unicodeString(at int) (string, error) {
	start, end, escapes, err := d.span(at, "unicode string")
	if err != nil {
		return "", err
	}
	raw := d.in[start:end]
	if escapes > 0 {
		raw = unescape(d.in, start, end, escapes)
	}
	if !utf8.Valid(raw) {
		return "", d.fail(at, "invalid UTF-8 in unicode string")
	}
	return string(raw), nil
}

// fixedInt decodes codes 0x0c–0x1c: n = |code-0x14| big-endian bytes, one's
// complemented for negatives.
func (d *decoder) fixedInt(at int, code byte) (any, error) {
	n := int(code) - codeIntZero
	neg := n < 0
	if neg {
		n = -n
	}
	p, err := d.take(at, n, "integer")
	if err != nil {
		return nil, err
	}
	var raw uint64
	for _, b := range p {
		raw = raw<<8 | uint64(b)
	}
	if !neg {
		if n > 0 && p[0] == 0 {
			d.canonical = false
		}
		return normalizeUint(raw), nil
	}
	if p[0] == 0xff { // the magnitude's top byte is zero
		d.canonical = false
	}
	mag := ^raw
	if n < 8 {
		mag &= 1<<(8*n) - 1
	}
	return normalizeNegative(mag), nil
}

// bigInt decodes codes 0x1d (length byte, magnitude) and 0x0b (length byte
// XOR 0xff, one's-complemented magnitude).
func (d *decoder) bigInt(at int, code byte) (any, error) {
	lp, err := d.take(at, 1, "arbitrary-precision integer length")
	if err != nil {
		return nil, err
	}
	n := int(lp[0])
	if code == codeNegBigInt {
		n ^= 0xff
	}
	p, err := d.take(at, n, "arbitrary-precision integer")
	if err != nil {
		return nil, err
	}
	mag := make([]byte, n)
	copy(mag, p)
	if code == codeNegBigInt {
		for i := range mag {
			mag[i] = ^mag[i]
		}
	}
	if n <= 8 || mag[0] == 0 {
		d.canonical = false // a shorter form exists
	}
	v := new(big.Int).SetBytes(mag)
	if code == codeNegBigInt {
		v.Neg(v)
	}
	return normalizeBig(v), nil
}

func normalizeUint(v uint64) any {
	if v <= math.MaxInt64 {
		return int64(v)
	}
	return v
}

// normalizeNegative returns -mag as int64 when it fits, else as *big.Int.
func normalizeNegative(mag uint64) any {
	if mag <= 1<<63 {
		return int64(-mag) // two's-complement wrap gives -mag, MinInt64 included
	}
	v := new(big.Int).SetUint64(mag)
	return v.Neg(v)
}

func normalizeBig(v *big.Int) any {
	switch {
	case v.IsInt64():
		return v.Int64()
	case v.IsUint64():
		return v.Uint64()
	default:
		return v
	}
}
