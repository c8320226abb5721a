package directory

import (
	"context"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/flow"
)

// The Go API: each function runs one operation of the default directory
// layer in its own transaction on db, retried as (*client.DB).Transact
// retries. To combine directory operations with other reads and writes
// atomically, call the Layer's methods inside db.Transact with FromTx.

// CreateOrOpen opens the directory at path, creating it and its missing
// parents if needed; see Layer.CreateOrOpen.
func CreateOrOpen(ctx context.Context, db *client.DB, path []string, layer []byte) (DirectorySubspace, error) {
	return transact(ctx, db, func(tr Tx) (DirectorySubspace, error) { return Default().CreateOrOpen(tr, path, layer) })
}

// Create creates the directory at path; see Layer.Create.
func Create(ctx context.Context, db *client.DB, path []string, layer []byte) (DirectorySubspace, error) {
	return transact(ctx, db, func(tr Tx) (DirectorySubspace, error) { return Default().Create(tr, path, layer) })
}

// Open opens the existing directory at path; see Layer.Open.
func Open(ctx context.Context, db *client.DB, path []string, layer []byte) (DirectorySubspace, error) {
	return readTransact(ctx, db, func(tr Tx) (DirectorySubspace, error) { return Default().Open(tr, path, layer) })
}

// Move moves the directory at oldPath to newPath; see Layer.Move.
func Move(ctx context.Context, db *client.DB, oldPath, newPath []string) (DirectorySubspace, error) {
	return transact(ctx, db, func(tr Tx) (DirectorySubspace, error) { return Default().Move(tr, oldPath, newPath) })
}

// Remove removes the directory at path and everything in it; see
// Layer.Remove.
func Remove(ctx context.Context, db *client.DB, path []string) error {
	_, err := transact(ctx, db, func(tr Tx) (struct{}, error) { return struct{}{}, Default().Remove(tr, path) })
	return err
}

// RemoveIfExists removes the directory at path if it exists, and reports
// whether it did; see Layer.RemoveIfExists.
func RemoveIfExists(ctx context.Context, db *client.DB, path []string) (bool, error) {
	return transact(ctx, db, func(tr Tx) (bool, error) { return Default().RemoveIfExists(tr, path) })
}

// List returns the names of the children of the directory at path.
func List(ctx context.Context, db *client.DB, path []string) ([]string, error) {
	return readTransact(ctx, db, func(tr Tx) ([]string, error) { return Default().List(tr, path) })
}

// Exists reports whether the directory at path exists.
func Exists(ctx context.Context, db *client.DB, path []string) (bool, error) {
	return readTransact(ctx, db, func(tr Tx) (bool, error) { return Default().Exists(tr, path) })
}

// Transact runs fn in a transaction on db, committing it and retrying as
// (*client.DB).Transact does, and returns fn's result.
func Transact[T any](ctx context.Context, db *client.DB, fn func(tr Tx) (T, error)) (T, error) {
	return transact(ctx, db, fn)
}

func transact[T any](ctx context.Context, db *client.DB, fn func(tr Tx) (T, error)) (T, error) {
	v, err := db.Transact(ctx, func(t *client.Tx) (any, error) { return fn(FromTx(t)) })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

func readTransact[T any](ctx context.Context, db *client.DB, fn func(tr Tx) (T, error)) (T, error) {
	v, err := db.ReadTransact(ctx, func(t *client.Tx) (any, error) { return fn(FromTx(t)) })
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}

// TransactFlow runs fn in a transaction on the flow client's db from the
// actor c, committing it and retrying as (*client.Database).Transact does,
// and returns fn's result from the attempt that committed.
func TransactFlow[T any](c *flow.Ctx, db *client.Database, fn func(tr Tx) (T, error)) (T, error) {
	var out T
	err := db.Transact(c, func(t *client.Transaction) error {
		v, err := fn(FromTransaction(c, t))
		out = v
		return err
	})
	return out, err
}
