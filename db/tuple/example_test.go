package tuple_test

import (
	"fmt"

	"github.com/strata-db/strata/db/tuple"
)

func ExampleTuple_Pack() {
	key := tuple.Tuple{"tenant", int64(42)}.Pack()
	fmt.Printf("%x\n", key)
	// Output: 0274656e616e7400152a
}

func ExampleTuple_AppendPack() {
	buf := make([]byte, 0, 64) // reused for every key
	for id := int64(1); id <= 2; id++ {
		buf = tuple.Tuple{"users", id}.AppendPack(buf[:0])
		fmt.Printf("%x\n", buf)
	}
	// Output:
	// 027573657273001501
	// 027573657273001502
}

func ExampleUnpack() {
	t, err := tuple.Unpack([]byte{0x02, 'u', 's', 'e', 'r', 's', 0x00, 0x16, 0x30, 0x39})
	if err != nil {
		fmt.Println(err)
		return
	}
	name, _ := t.StringAt(0)
	id, _ := t.Int64(1)
	fmt.Println(name, id, t)

	_, err = tuple.Unpack([]byte{0x02, 'u', 's'})
	fmt.Println(err)
	// Output:
	// users 12345 ("users", 12345)
	// tuple: unterminated unicode string at offset 0
}

func ExampleRange() {
	begin, end := tuple.Range(tuple.Tuple{"a"})
	fmt.Printf("%x %x\n", begin, end)
	// Output: 02610000 026100ff
}

func ExampleTuple_PackWithVersionstamp() {
	key, err := tuple.Tuple{"log", tuple.IncompleteVersionstamp(0)}.PackWithVersionstamp([]byte{0x15})
	if err != nil {
		fmt.Println(err)
		return
	}
	// prefix, "log", 0x33, ten 0xff, user version, then the offset of
	// the ten 0xff bytes, 7, as 4 bytes little-endian.
	fmt.Printf("%x\n", key)
	// Output: 15026c6f670033ffffffffffffffffffff000007000000
}

func ExampleCompare() {
	a := tuple.Tuple{"user", int64(9)}
	b := tuple.Tuple{"user", int64(10)}
	fmt.Println(tuple.Compare(a, b))
	// Output: -1
}

func ExampleTuple_String() {
	fmt.Println(tuple.Tuple{"tenant", 42, []byte{0x01}, nil, tuple.Tuple{true, 1.5}})
	// Output: ("tenant", 42, b"\x01", nil, (true, 1.5))
}
