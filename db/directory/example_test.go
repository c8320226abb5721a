package directory_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/tuple"
)

// Opening a directory on a running database with the Go client, then
// storing a key in it. (This example needs a cluster, so it is compiled
// but not run; the examples below run on an in-memory transaction.)
func Example() {
	ctx := context.Background()
	db, err := client.Open(ctx, "strata.cluster")
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	users, err := directory.CreateOrOpen(ctx, db, []string{"app", "users"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	_, err = db.Transact(ctx, func(tx *client.Tx) (any, error) {
		tx.Set(users.Pack(tuple.Tuple{"alice", "email"}), []byte("alice@example.com"))
		return nil, nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Directory operations combine with other writes in one transaction by
// adapting it with FromTx (for *client.Tx) or FromTransaction (for the
// flow client). Here db.transact hands out an in-memory transaction.
func ExampleLayer_CreateOrOpen() {
	db := newMemDB()
	err := db.transact(func(tr directory.Tx) error {
		users, err := directory.Default().CreateOrOpen(tr, []string{"app", "users"}, nil)
		if err != nil {
			return err
		}
		tr.Set(users.Pack(tuple.Tuple{"alice"}), []byte("admin"))
		fmt.Println(users.Path(), len(users.Bytes()), "byte prefix")

		again, err := directory.Default().CreateOrOpen(tr, []string{"app", "users"}, nil)
		if err != nil {
			return err
		}
		fmt.Println("same prefix when opened again:", bytes.Equal(again.Bytes(), users.Bytes()))
		return nil
	})
	fmt.Println(err)
	// Output:
	// [app users] 2 byte prefix
	// same prefix when opened again: true
	// <nil>
}

func ExampleLayer_List() {
	db := newMemDB()
	err := db.transact(func(tr directory.Tx) error {
		for _, name := range []string{"orders", "users", "carts"} {
			if _, err := directory.Default().Create(tr, []string{"shop", name}, nil); err != nil {
				return err
			}
		}
		names, err := directory.Default().List(tr, []string{"shop"})
		fmt.Println(names)
		return err
	})
	fmt.Println(err)
	// Output:
	// [carts orders users]
	// <nil>
}

// Move renames a directory without touching its data: the prefix stays.
func ExampleLayer_Move() {
	db := newMemDB()
	dl := directory.Default()
	err := db.transact(func(tr directory.Tx) error {
		old, err := dl.Create(tr, []string{"staging"}, nil)
		if err != nil {
			return err
		}
		moved, err := dl.Move(tr, []string{"staging"}, []string{"live"})
		if err != nil {
			return err
		}
		fmt.Println(moved.Path(), bytes.Equal(old.Bytes(), moved.Bytes()))

		_, err = dl.Move(tr, []string{"live"}, []string{"live", "inner"})
		fmt.Println(err)
		return nil
	})
	fmt.Println(err)
	// Output:
	// [live] true
	// directory: move ["live"] to ["live" "inner"]: the destination directory cannot be a subdirectory of the source directory
	// <nil>
}

// A partition keeps every directory inside it under its own prefix.
func ExampleDirectorySubspace_partition() {
	db := newMemDB()
	err := db.transact(func(tr directory.Tx) error {
		tenant, err := directory.Default().Create(tr, []string{"tenant-1"}, []byte("partition"))
		if err != nil {
			return err
		}
		users, err := tenant.Create(tr, []string{"users"}, nil)
		if err != nil {
			return err
		}
		fmt.Println(tenant.IsPartition(), users.Path(), tenant.Contains(users.Bytes()))
		return nil
	})
	fmt.Println(err)
	// Output:
	// true [tenant-1 users] true
	// <nil>
}
