package tuple

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// Pack returns the FoundationDB encoding of t. It panics on the programming
// errors listed in the package documentation; use [Tuple.Validate] for values
// from outside the program.
func (t Tuple) Pack() []byte {
	return t.AppendPack(make([]byte, 0, 32))
}

// AppendPack appends the encoding of t to dst and returns the extended slice,
// so that callers can reuse one buffer for many keys. It panics like Pack.
func (t Tuple) AppendPack(dst []byte) []byte {
	e := encoder{buf: dst}
	e.tuple(t, false)
	if e.err != nil {
		panic(fmt.Errorf("tuple: pack: %w", e.err))
	}
	return e.buf
}

// Validate reports the first element that Pack cannot encode — a value of an
// unsupported type, a nil *big.Int, or an integer of 256 bytes or more — or
// that Unpack would reject: a string that is not valid UTF-8. (Pack itself
// does not spend time on the UTF-8 check, like FoundationDB's Go binding.)
func (t Tuple) Validate() error {
	e := encoder{checkUTF8: true}
	e.tuple(t, false)
	if e.err != nil {
		return fmt.Errorf("tuple: %w", e.err)
	}
	return nil
}

// PackWithVersionstamp returns prefix + Pack(t) + the 4-byte little-endian
// offset, from the start of the result, of the transaction version of the
// single incomplete versionstamp in t (nested tuples included). This is the
// key format of set_versionstamped_key for API version ≥ 520. It returns an
// error when t holds no incomplete versionstamp, more than one, or an element
// Validate rejects.
func (t Tuple) PackWithVersionstamp(prefix []byte) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, len(prefix)+32), stampAt: -1, checkUTF8: true}
	e.buf = append(e.buf, prefix...)
	e.tuple(t, false)
	switch {
	case e.err != nil:
		return nil, fmt.Errorf("tuple: pack with versionstamp: %w", e.err)
	case e.incomplete == 0:
		return nil, errors.New("tuple: pack with versionstamp: no incomplete versionstamp in tuple")
	case e.incomplete > 1:
		return nil, fmt.Errorf("tuple: pack with versionstamp: %d incomplete versionstamps in tuple, want exactly one", e.incomplete)
	case e.stampAt > math.MaxUint32:
		return nil, fmt.Errorf("tuple: pack with versionstamp: versionstamp offset %d does not fit in 32 bits", e.stampAt)
	}
	return binary.LittleEndian.AppendUint32(e.buf, uint32(e.stampAt)), nil
}

// encoder appends element encodings to buf. It records the first error
// rather than returning one from every call, which keeps the hot path free of
// error plumbing.
type encoder struct {
	buf        []byte
	err        error
	incomplete int // number of incomplete versionstamps written
	stampAt    int // offset in buf of the first incomplete transaction version
	checkUTF8  bool
}

func (e *encoder) tuple(t Tuple, nested bool) {
	for i, v := range t {
		e.element(v, nested)
		if e.err != nil {
			e.err = fmt.Errorf("element %d: %w", i, e.err)
			return
		}
	}
}

func (e *encoder) element(v any, nested bool) {
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, codeNull)
		if nested {
			e.buf = append(e.buf, escapeByte)
		}
	case []byte:
		e.buf = append(e.buf, codeBytes)
		e.buf = appendEscapedBytes(e.buf, v)
	case string:
		if e.checkUTF8 && !utf8.ValidString(v) {
			e.err = fmt.Errorf("string %q is not valid UTF-8", v)
			return
		}
		e.buf = append(e.buf, codeString)
		e.buf = appendEscapedString(e.buf, v)
	case Tuple:
		e.buf = append(e.buf, codeNested)
		e.tuple(v, true)
		e.buf = append(e.buf, 0x00)
	case int:
		e.buf = appendInt64(e.buf, int64(v))
	case int8:
		e.buf = appendInt64(e.buf, int64(v))
	case int16:
		e.buf = appendInt64(e.buf, int64(v))
	case int32:
		e.buf = appendInt64(e.buf, int64(v))
	case int64:
		e.buf = appendInt64(e.buf, v)
	case uint:
		e.buf = appendUint64(e.buf, uint64(v))
	case uint8:
		e.buf = appendUint64(e.buf, uint64(v))
	case uint16:
		e.buf = appendUint64(e.buf, uint64(v))
	case uint32:
		e.buf = appendUint64(e.buf, uint64(v))
	case uint64:
		e.buf = appendUint64(e.buf, v)
	case *big.Int:
		e.bigInt(v)
	case big.Int:
		e.bigInt(&v)
	case float32:
		e.buf = append(e.buf, codeFloat32)
		e.buf = binary.BigEndian.AppendUint32(e.buf, orderedFloat32Bits(v))
	case float64:
		e.buf = append(e.buf, codeFloat64)
		e.buf = binary.BigEndian.AppendUint64(e.buf, orderedFloat64Bits(v))
	case bool:
		if v {
			e.buf = append(e.buf, codeTrue)
		} else {
			e.buf = append(e.buf, codeFalse)
		}
	case UUID:
		e.buf = append(e.buf, codeUUID)
		e.buf = append(e.buf, v[:]...)
	case Versionstamp:
		e.versionstamp(v)
	default:
		e.err = fmt.Errorf("unsupported type %T", v)
	}
}

func (e *encoder) versionstamp(v Versionstamp) {
	e.buf = append(e.buf, codeVersionstamp)
	if !v.IsComplete() {
		if e.incomplete == 0 {
			e.stampAt = len(e.buf)
		}
		e.incomplete++
	}
	e.buf = append(e.buf, v.TransactionVersion[:]...)
	e.buf = binary.BigEndian.AppendUint16(e.buf, v.UserVersion)
}

// bigInt writes v with the fixed-width codes when its magnitude fits in 64
// bits and with the arbitrary-precision codes otherwise, so that a *big.Int
// and a machine integer of equal value encode identically.
func (e *encoder) bigInt(v *big.Int) {
	if v == nil {
		e.err = errors.New("nil *big.Int")
		return
	}
	mag := v.Bytes() // big-endian |v|, no leading zeros
	if len(mag) > maxBigIntLen {
		e.err = fmt.Errorf("integer of %d bytes exceeds the %d-byte limit", len(mag), maxBigIntLen)
		return
	}
	if len(mag) <= 8 {
		var m uint64
		for _, b := range mag {
			m = m<<8 | uint64(b)
		}
		if v.Sign() < 0 {
			e.buf = appendNegative(e.buf, m)
		} else {
			e.buf = appendUint64(e.buf, m)
		}
		return
	}
	if v.Sign() > 0 {
		e.buf = append(e.buf, codePosBigInt, byte(len(mag)))
		e.buf = append(e.buf, mag...)
		return
	}
	// Negative: length and magnitude are one's-complemented so that larger
	// magnitudes sort first.
	e.buf = append(e.buf, codeNegBigInt, byte(len(mag))^0xff)
	for _, b := range mag {
		e.buf = append(e.buf, ^b)
	}
}

func appendInt64(dst []byte, v int64) []byte {
	if v >= 0 {
		return appendUint64(dst, uint64(v))
	}
	// -v overflows for math.MinInt64, but its uint64 conversion is still
	// the right magnitude, 2^63.
	return appendNegative(dst, uint64(-v))
}

// appendUint64 writes code 0x14+n followed by v in n big-endian bytes, n
// minimal.
func appendUint64(dst []byte, v uint64) []byte {
	n := byteLen(v)
	dst = append(dst, byte(codeIntZero+n))
	return appendLowBytes(dst, v, n)
}

// appendNegative writes -mag as code 0x14-n followed by the one's complement
// of mag in n bytes, n minimal.
func appendNegative(dst []byte, mag uint64) []byte {
	n := byteLen(mag)
	dst = append(dst, byte(codeIntZero-n))
	return appendLowBytes(dst, ^mag, n)
}

func byteLen(v uint64) int {
	return (bits.Len64(v) + 7) / 8
}

// appendLowBytes appends the n low-order bytes of v, big-endian.
func appendLowBytes(dst []byte, v uint64, n int) []byte {
	for shift := 8 * (n - 1); shift >= 0; shift -= 8 {
		dst = append(dst, byte(v>>shift))
	}
	return dst
}

// appendEscapedString writes s with every 0x00 followed by 0xff, then the
// 0x00 terminator.
func appendEscapedString(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, 0x00)
		if i < 0 {
			dst = append(dst, s...)
			return append(dst, 0x00)
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, escapeByte)
		s = s[i+1:]
	}
}

// appendEscapedBytes is appendEscapedString for a []byte, kept separate so
// that neither converts (and copies) its argument.
func appendEscapedBytes(dst []byte, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, 0x00)
		if i < 0 {
			dst = append(dst, b...)
			return append(dst, 0x00)
		}
		dst = append(dst, b[:i+1]...)
		dst = append(dst, escapeByte)
		b = b[i+1:]
	}
}

// orderedFloat64Bits maps f to bits whose unsigned order is the IEEE total
// order: negative values have all bits flipped (larger magnitudes sort
// first), non-negative ones only the sign bit (they sort above negatives).
func orderedFloat64Bits(f float64) uint64 {
	b := math.Float64bits(f)
	if b&(1<<63) != 0 {
		return ^b
	}
	return b | 1<<63
}

func orderedFloat32Bits(f float32) uint32 {
	b := math.Float32bits(f)
	if b&(1<<31) != 0 {
		return ^b
	}
	return b | 1<<31
}

// float64FromOrdered inverts orderedFloat64Bits.
func float64FromOrdered(b uint64) float64 {
	if b&(1<<63) != 0 {
		return math.Float64frombits(b &^ (1 << 63))
	}
	return math.Float64frombits(^b)
}

func float32FromOrdered(b uint32) float32 {
	if b&(1<<31) != 0 {
		return math.Float32frombits(b &^ (1 << 31))
	}
	return math.Float32frombits(^b)
}
