package tuple

import (
	"errors"
	"fmt"
	"math/big"
)

// Errors returned, wrapped, by the typed getters.
var (
	// ErrIndex means the index is outside the tuple.
	ErrIndex = errors.New("index out of range")
	// ErrType means the element has another type, or an integer does not
	// fit the requested Go type.
	ErrType = errors.New("wrong element type")
)

func (t Tuple) at(i int) (any, error) {
	if i < 0 || i >= len(t) {
		return nil, fmt.Errorf("tuple: element %d of a %d-element tuple: %w", i, len(t), ErrIndex)
	}
	return t[i], nil
}

func typeError(i int, v any, want string) error {
	return fmt.Errorf("tuple: element %d is %s, not %s: %w", i, kindOf(v), want, ErrType)
}

// kindOf names an element's tuple type for error messages.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case []byte:
		return "a byte string"
	case string:
		return "a unicode string"
	case Tuple:
		return "a nested tuple"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, *big.Int, big.Int:
		return "an integer"
	case float32:
		return "a float32"
	case float64:
		return "a float64"
	case bool:
		return "a bool"
	case UUID:
		return "a UUID"
	case Versionstamp:
		return "a versionstamp"
	default:
		return fmt.Sprintf("an unsupported %T", v)
	}
}

// StringAt returns element i, a unicode string.
func (t Tuple) StringAt(i int) (string, error) {
	return get[string](t, i, "a unicode string")
}

// Bytes returns element i, a byte string.
func (t Tuple) Bytes(i int) ([]byte, error) {
	return get[[]byte](t, i, "a byte string")
}

// Tuple returns element i, a nested tuple.
func (t Tuple) Tuple(i int) (Tuple, error) {
	return get[Tuple](t, i, "a nested tuple")
}

// Float32 returns element i, a float32 (type code 0x20).
func (t Tuple) Float32(i int) (float32, error) {
	return get[float32](t, i, "a float32")
}

// Float64 returns element i, a float64 (type code 0x21).
func (t Tuple) Float64(i int) (float64, error) {
	return get[float64](t, i, "a float64")
}

// Bool returns element i, a bool.
func (t Tuple) Bool(i int) (bool, error) {
	return get[bool](t, i, "a bool")
}

// UUID returns element i, a UUID.
func (t Tuple) UUID(i int) (UUID, error) {
	return get[UUID](t, i, "a UUID")
}

// Versionstamp returns element i, a versionstamp.
func (t Tuple) Versionstamp(i int) (Versionstamp, error) {
	return get[Versionstamp](t, i, "a versionstamp")
}

// IsNil reports whether element i is nil.
func (t Tuple) IsNil(i int) (bool, error) {
	v, err := t.at(i)
	return err == nil && v == nil, err
}

func get[T any](t Tuple, i int, want string) (T, error) {
	var zero T
	v, err := t.at(i)
	if err != nil {
		return zero, err
	}
	x, ok := v.(T)
	if !ok {
		return zero, typeError(i, v, want)
	}
	return x, nil
}

// Int64 returns element i, an integer that fits in an int64.
func (t Tuple) Int64(i int) (int64, error) {
	v, err := t.at(i)
	if err != nil {
		return 0, err
	}
	if n, ok := asInt64(v); ok {
		return n, nil
	}
	return 0, t.intMismatch(i, v, "an int64")
}

// Uint64 returns element i, a non-negative integer that fits in a uint64.
func (t Tuple) Uint64(i int) (uint64, error) {
	v, err := t.at(i)
	if err != nil {
		return 0, err
	}
	if isInteger(v) {
		if b := toBig(v); b.IsUint64() {
			return b.Uint64(), nil
		}
	}
	return 0, t.intMismatch(i, v, "a uint64")
}

// BigInt returns element i, any integer, as a new *big.Int.
func (t Tuple) BigInt(i int) (*big.Int, error) {
	v, err := t.at(i)
	if err != nil {
		return nil, err
	}
	if !isInteger(v) {
		return nil, typeError(i, v, "an integer")
	}
	return new(big.Int).Set(toBig(v)), nil
}

func (t Tuple) intMismatch(i int, v any, want string) error {
	if isInteger(v) {
		return fmt.Errorf("tuple: element %d, %s, does not fit in %s: %w", i, toBig(v), want, ErrType)
	}
	return typeError(i, v, want)
}

// isInteger reports whether v is a usable integer element.
func isInteger(v any) bool {
	switch v := v.(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, big.Int:
		return true
	case *big.Int:
		return v != nil
	}
	return false
}
