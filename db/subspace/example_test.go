package subspace_test

import (
	"fmt"

	"github.com/strata-db/strata/db/subspace"
	"github.com/strata-db/strata/db/tuple"
)

func Example() {
	users := subspace.Sub("app").Sub("users")
	key := users.Pack(tuple.Tuple{int64(42), "email"})
	fmt.Printf("%x\n", key)

	t, err := users.Unpack(key)
	fmt.Println(t, err)

	begin, end := users.Range()
	fmt.Printf("[%x, %x)\n", begin, end)
	fmt.Println(users.Contains(key), subspace.Sub("other").Contains(key))
	// Output:
	// 026170700002757365727300152a02656d61696c00
	// (42, "email") <nil>
	// [02617070000275736572730000, 026170700002757365727300ff)
	// true false
}
