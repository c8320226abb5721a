package directory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/db/client"
	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/directory/directorytest"
	"github.com/strata-db/strata/db/tuple"
	"github.com/strata-db/strata/test/testserver"
)

func TestRealDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("builds strata and runs a real server")
	}
	clusterFile := testserver.Start(t, testserver.Binary(t)).ClusterFile
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := client.Open(ctx, clusterFile)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	t.Run("create(app) writes FoundationDB's keys", func(t *testing.T) {
		app, err := directory.Create(ctx, db, []string{"app"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := directory.Transact(ctx, db, func(tr directory.Tx) (map[string]string, error) {
			rows, err := tr.GetRange([]byte{0xfe}, []byte{0xff}, 0, false)
			return dump(rows), err
		})
		if err != nil {
			t.Fatal(err)
		}
		c, err := tuple.Unpack(app.Bytes())
		if err != nil || len(c) != 1 {
			t.Fatalf("prefix %x is not a packed integer", app.Bytes())
		}
		p := string(app.Bytes())
		want := map[string]string{
			h(t, "fe 01fe00 0176657273696f6e00"):          h(t, "01000000 00000000 00000000"),
			h(t, "fe 01fe00 0168636100 14 14"):            h(t, "0100000000000000"),
			h(t, "fe 01fe00 0168636100 1501") + p:         "",
			h(t, "fe 01fe00 14 0261707000"):               p,
			h(t, "fe 01") + p + h(t, "00 016c6179657200"): "",
		}
		if diff := cmp.Diff(want, rows, hexMap); diff != "" {
			t.Errorf("node subspace after create(app) (-want +got):\n%s", diff)
		}
	})

	t.Run("operations and errors", func(t *testing.T) {
		users, err := directory.CreateOrOpen(ctx, db, []string{"app", "users"}, []byte("table"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Transact(ctx, func(tx *client.Tx) (any, error) {
			tx.Set(users.Pack(tuple.Tuple{"alice"}), []byte("admin"))
			return nil, nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := directory.Create(ctx, db, []string{"app", "users"}, nil); !errors.Is(err, directory.ErrExists) {
			t.Errorf("create existing: %v", err)
		}
		if _, err := directory.Open(ctx, db, []string{"app", "users"}, []byte("queue")); !errors.Is(err, directory.ErrLayerMismatch) {
			t.Errorf("open with another layer: %v", err)
		}
		if _, err := directory.Open(ctx, db, []string{"nope"}, nil); !errors.Is(err, directory.ErrNotExist) {
			t.Errorf("open missing: %v", err)
		}
		if _, err := directory.Move(ctx, db, []string{"app"}, []string{"app", "x"}); !errors.Is(err, directory.ErrMoveIntoSubdirectory) {
			t.Errorf("move into itself: %v", err)
		}
		if _, err := directory.Move(ctx, db, []string{"app", "users"}, []string{"gone", "users"}); !errors.Is(err, directory.ErrParentNotExist) {
			t.Errorf("move under a missing parent: %v", err)
		}
		moved, err := directory.Move(ctx, db, []string{"app", "users"}, []string{"app", "people"})
		if err != nil {
			t.Fatal(err)
		}
		v, err := db.ReadTransact(ctx, func(tx *client.Tx) (any, error) { return tx.Get(moved.Pack(tuple.Tuple{"alice"})) })
		if err != nil || !bytes.Equal(v.([]byte), []byte("admin")) {
			t.Errorf("data after move: %q %v", v, err)
		}
		names, err := directory.List(ctx, db, []string{"app"})
		if err != nil || !cmp.Equal(names, []string{"people"}) {
			t.Errorf("list app: %q %v", names, err)
		}
		if err := directory.Remove(ctx, db, []string{"app", "people"}); err != nil {
			t.Fatal(err)
		}
		if ok, err := directory.Exists(ctx, db, []string{"app", "people"}); ok || err != nil {
			t.Errorf("exists after remove: %v %v", ok, err)
		}
		if existed, err := directory.RemoveIfExists(ctx, db, []string{"app", "people"}); existed || err != nil {
			t.Errorf("remove-if-exists after remove: %v %v", existed, err)
		}
		v, err = db.ReadTransact(ctx, func(tx *client.Tx) (any, error) { return tx.Get(moved.Pack(tuple.Tuple{"alice"})) })
		if err != nil || v.([]byte) != nil {
			t.Errorf("data after remove: %q %v", v, err)
		}
	})

	t.Run("concurrent creates get distinct prefixes", func(t *testing.T) {
		const goroutines, each = 8, 10
		var mu sync.Mutex
		var all []directorytest.Created
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					path := []string{"many", fmt.Sprintf("g%d-%d", g, i)}
					d, err := directory.CreateOrOpen(ctx, db, path, nil)
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					all = append(all, directorytest.Created{Path: path, Prefix: d.Bytes()})
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if err := directorytest.CheckDistinct(all); err != nil {
			t.Fatal(err)
		}
		names, err := directory.List(ctx, db, []string{"many"})
		if err != nil || len(names) != goroutines*each {
			t.Fatalf("list many: %d names, %v", len(names), err)
		}
	})
}
