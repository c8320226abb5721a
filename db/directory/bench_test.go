package directory_test

import (
	"testing"

	"github.com/strata-db/strata/db/directory"
)

// BenchmarkOpen measures the layer's own work to open a three-level path
// (version check, a child link and a layer read per level) on the
// in-memory transaction; a real database adds a read round trip per key.
func BenchmarkOpen(b *testing.B) {
	db := newMemDB()
	path := []string{"app", "users", "by-email"}
	if err := db.transact(func(tr directory.Tx) error {
		_, err := directory.Default().Create(tr, path, nil)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	tr := &memTx{db: db, data: db.data}
	dl := directory.Default()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dl.Open(tr, path, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreate measures creating a directory in a fresh layer,
// allocator included.
func BenchmarkCreate(b *testing.B) {
	dl := directory.Default()
	b.ReportAllocs()
	for b.Loop() {
		db := newMemDB()
		tr := &memTx{db: db, data: db.data}
		if _, err := dl.Create(tr, []string{"app"}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
