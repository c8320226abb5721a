package directory_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/subspace"
)

var errorsIs = errors.Is

// run runs fn in a transaction of db and fails the test on error.
func run(t *testing.T, db *memDB, fn func(tr directory.Tx) error) {
	t.Helper()
	if err := db.transact(fn); err != nil {
		t.Fatal(err)
	}
}

func mustCreate(t *testing.T, db *memDB, path ...string) directory.DirectorySubspace {
	t.Helper()
	var d directory.DirectorySubspace
	run(t, db, func(tr directory.Tx) (err error) {
		d, err = directory.Default().Create(tr, path, nil)
		return err
	})
	return d
}

func TestCreateOpenAndCreateOrOpen(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	users := mustCreate(t, db, "app", "users")
	run(t, db, func(tr directory.Tx) error {
		got, err := dl.Open(tr, []string{"app", "users"}, nil)
		if err != nil {
			return err
		}
		if string(got.Bytes()) != string(users.Bytes()) {
			t.Errorf("open gave prefix %x, create gave %x", got.Bytes(), users.Bytes())
		}
		again, err := dl.CreateOrOpen(tr, []string{"app", "users"}, nil)
		if err != nil {
			return err
		}
		if string(again.Bytes()) != string(users.Bytes()) {
			t.Errorf("create-or-open of an existing directory gave a new prefix")
		}
		if _, err := dl.Create(tr, []string{"app", "users"}, nil); !errors.Is(err, directory.ErrExists) {
			t.Errorf("create existing: %v, want ErrExists", err)
		}
		if _, err := dl.Open(tr, []string{"app", "nobody"}, nil); !errors.Is(err, directory.ErrNotExist) {
			t.Errorf("open missing: %v, want ErrNotExist", err)
		}
		if _, err := dl.CreateOrOpen(tr, nil, nil); !errors.Is(err, directory.ErrRoot) {
			t.Errorf("open root: %v, want ErrRoot", err)
		}
		// create made the parent too
		app, err := dl.Open(tr, []string{"app"}, nil)
		if err != nil {
			return err
		}
		if subspace.FromBytes(app.Bytes()).Contains(users.Bytes()) || subspace.FromBytes(users.Bytes()).Contains(app.Bytes()) {
			t.Errorf("parent prefix %x and child prefix %x overlap", app.Bytes(), users.Bytes())
		}
		names, err := app.List(tr, nil)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"users"}, names); diff != "" {
			t.Errorf("list app: %s", diff)
		}
		return nil
	})
}

func TestLayerMismatch(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	run(t, db, func(tr directory.Tx) error {
		_, err := dl.Create(tr, []string{"queue"}, []byte("fifo"))
		return err
	})
	run(t, db, func(tr directory.Tx) error {
		if _, err := dl.Open(tr, []string{"queue"}, []byte("lifo")); !errors.Is(err, directory.ErrLayerMismatch) {
			t.Errorf("open with another layer: %v, want ErrLayerMismatch", err)
		}
		if _, err := dl.CreateOrOpen(tr, []string{"queue"}, []byte("lifo")); !errors.Is(err, directory.ErrLayerMismatch) {
			t.Errorf("create-or-open with another layer: %v, want ErrLayerMismatch", err)
		}
		d, err := dl.Open(tr, []string{"queue"}, nil)
		if err != nil {
			return err
		}
		if string(d.Layer()) != "fifo" {
			t.Errorf("layer %q, want fifo", d.Layer())
		}
		return nil
	})
}

func TestListAndExists(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	for _, p := range [][]string{{"b"}, {"a"}, {"a", "z"}, {"a", "y"}} {
		mustCreate(t, db, p...)
	}
	run(t, db, func(tr directory.Tx) error {
		root, err := dl.List(tr, nil)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"a", "b"}, root); diff != "" {
			t.Errorf("list root: %s", diff)
		}
		a, err := dl.List(tr, []string{"a"})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"y", "z"}, a); diff != "" {
			t.Errorf("list a: %s", diff)
		}
		if _, err := dl.List(tr, []string{"c"}); !errors.Is(err, directory.ErrNotExist) {
			t.Errorf("list missing: %v, want ErrNotExist", err)
		}
		for _, c := range []struct {
			path []string
			want bool
		}{{nil, true}, {[]string{"a", "y"}, true}, {[]string{"a", "x"}, false}, {[]string{"c", "y"}, false}} {
			got, err := dl.Exists(tr, c.path)
			if err != nil {
				return err
			}
			if got != c.want {
				t.Errorf("exists %q = %v, want %v", c.path, got, c.want)
			}
		}
		return nil
	})
}

func TestReadsOnAnEmptyDatabaseWriteNothing(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	run(t, db, func(tr directory.Tx) error {
		if ok, err := dl.Exists(tr, []string{"a"}); err != nil || ok {
			t.Errorf("exists on empty database: %v %v", ok, err)
		}
		_, err := dl.Open(tr, []string{"a"}, nil)
		if !errors.Is(err, directory.ErrNotExist) {
			t.Errorf("open on empty database: %v", err)
		}
		return nil
	})
	if rows := db.rows(); len(rows) != 0 {
		t.Errorf("reads wrote %d keys", len(rows))
	}
}

func TestMove(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	a := mustCreate(t, db, "a", "child")
	mustCreate(t, db, "b")
	run(t, db, func(tr directory.Tx) error {
		tr.Set(a.Pack([]any{"k"}), []byte("v"))
		moved, err := dl.Move(tr, []string{"a", "child"}, []string{"b", "renamed"})
		if err != nil {
			return err
		}
		if string(moved.Bytes()) != string(a.Bytes()) {
			t.Errorf("move changed the prefix from %x to %x", a.Bytes(), moved.Bytes())
		}
		if diff := cmp.Diff([]string{"b", "renamed"}, moved.Path()); diff != "" {
			t.Error(diff)
		}
		if ok, _ := dl.Exists(tr, []string{"a", "child"}); ok {
			t.Error("the old path still exists")
		}
		v, err := tr.Get(moved.Pack([]any{"k"}))
		if err != nil || string(v) != "v" {
			t.Errorf("contents after move: %q %v", v, err)
		}
		return nil
	})
	cases := []struct {
		name     string
		old, new []string
		want     error
	}{
		{"into itself", []string{"b"}, []string{"b", "renamed", "x"}, directory.ErrMoveIntoSubdirectory},
		{"onto itself", []string{"b"}, []string{"b"}, directory.ErrMoveIntoSubdirectory},
		{"missing source", []string{"nope"}, []string{"x"}, directory.ErrNotExist},
		{"existing destination", []string{"a"}, []string{"b"}, directory.ErrDestinationExists},
		{"missing parent", []string{"a"}, []string{"c", "d"}, directory.ErrParentNotExist},
		{"root", nil, []string{"x"}, directory.ErrMoveIntoSubdirectory},
	}
	for _, c := range cases {
		err := db.transact(func(tr directory.Tx) error {
			_, err := dl.Move(tr, c.old, c.new)
			return err
		})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: move %q to %q: %v, want %v", c.name, c.old, c.new, err, c.want)
		}
	}
}

func TestRemove(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	keep := mustCreate(t, db, "keep")
	a := mustCreate(t, db, "a")
	ab := mustCreate(t, db, "a", "b")
	run(t, db, func(tr directory.Tx) error {
		for _, d := range []directory.DirectorySubspace{keep, a, ab} {
			tr.Set(d.Pack([]any{"k"}), []byte("v"))
		}
		return nil
	})
	before := len(db.rows())
	run(t, db, func(tr directory.Tx) error { return dl.Remove(tr, []string{"a"}) })
	run(t, db, func(tr directory.Tx) error {
		for _, p := range [][]string{{"a"}, {"a", "b"}} {
			if ok, err := dl.Exists(tr, p); ok || err != nil {
				t.Errorf("%q exists after removing a: %v", p, err)
			}
		}
		for _, d := range []directory.DirectorySubspace{a, ab} {
			if v, _ := tr.Get(d.Pack([]any{"k"})); v != nil {
				t.Errorf("contents of %q survived", d.Path())
			}
		}
		if v, _ := tr.Get(keep.Pack([]any{"k"})); string(v) != "v" {
			t.Errorf("removing a cleared keep's contents")
		}
		return nil
	})
	// a's and a/b's content key, links and layers are gone; the
	// allocator's markers stay (FDB keeps them until the window moves on).
	if removed := before - len(db.rows()); removed != 6 {
		t.Errorf("remove cleared %d keys, want 6", removed)
	}
	if err := db.transact(func(tr directory.Tx) error { return dl.Remove(tr, []string{"a"}) }); !errors.Is(err, directory.ErrNotExist) {
		t.Errorf("remove missing: %v, want ErrNotExist", err)
	}
	if err := db.transact(func(tr directory.Tx) error { return dl.Remove(tr, nil) }); !errors.Is(err, directory.ErrRoot) {
		t.Errorf("remove root: %v, want ErrRoot", err)
	}
	run(t, db, func(tr directory.Tx) error {
		existed, err := dl.RemoveIfExists(tr, []string{"a"})
		if err != nil || existed {
			t.Errorf("remove-if-exists of missing: %v %v", existed, err)
		}
		existed, err = dl.RemoveIfExists(tr, []string{"keep"})
		if err != nil || !existed {
			t.Errorf("remove-if-exists of keep: %v %v", existed, err)
		}
		return nil
	})
}

func TestPartitions(t *testing.T) {
	db := newMemDB()
	dl := directory.Default()
	var part directory.DirectorySubspace
	run(t, db, func(tr directory.Tx) (err error) {
		part, err = dl.Create(tr, []string{"tenant"}, []byte("partition"))
		if err != nil {
			return err
		}
		_, err = part.Create(tr, []string{"users"}, nil)
		return err
	})
	mustCreate(t, db, "outside")
	run(t, db, func(tr directory.Tx) error {
		// paths through the partition resolve in its own layer
		users, err := dl.Open(tr, []string{"tenant", "users"}, nil)
		if err != nil {
			return err
		}
		if !part.Contains(users.Bytes()) {
			t.Errorf("directory in partition has prefix %x outside the partition's %x", users.Bytes(), part.Bytes())
		}
		names, err := dl.List(tr, []string{"tenant"})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"users"}, names); diff != "" {
			t.Errorf("list partition: %s", diff)
		}
		if ok, err := dl.Exists(tr, []string{"tenant", "users"}); !ok || err != nil {
			t.Errorf("exists in partition: %v %v", ok, err)
		}
		moved, err := dl.Move(tr, []string{"tenant", "users"}, []string{"tenant", "people"})
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"tenant", "people"}, moved.Path()); diff != "" {
			t.Error(diff)
		}
		if _, err := dl.Open(tr, []string{"tenant"}, []byte("other")); !errors.Is(err, directory.ErrLayerMismatch) {
			t.Errorf("open partition with another layer: %v", err)
		}
		return nil
	})
	cross := []struct{ old, new []string }{
		{[]string{"tenant", "people"}, []string{"people"}},
		{[]string{"outside"}, []string{"tenant", "outside"}},
	}
	for _, c := range cross {
		err := db.transact(func(tr directory.Tx) error {
			_, err := dl.Move(tr, c.old, c.new)
			return err
		})
		if !errors.Is(err, directory.ErrCrossPartition) {
			t.Errorf("move %q to %q: %v, want ErrCrossPartition", c.old, c.new, err)
		}
	}
	err := db.transact(func(tr directory.Tx) error {
		people, err := dl.Open(tr, []string{"tenant", "people"}, nil)
		if err != nil {
			return err
		}
		_, err = people.MoveTo(tr, []string{"people"})
		return err
	})
	if !errors.Is(err, directory.ErrCrossPartition) {
		t.Errorf("MoveTo out of the partition: %v, want ErrCrossPartition", err)
	}
	run(t, db, func(tr directory.Tx) error {
		// the partition itself moves like any directory, and removes with
		// everything in it
		if _, err := part.MoveTo(tr, []string{"tenant2"}); err != nil {
			return err
		}
		if ok, err := dl.Exists(tr, []string{"tenant2", "people"}); !ok || err != nil {
			t.Errorf("directory in moved partition: %v %v", ok, err)
		}
		return dl.Remove(tr, []string{"tenant2"})
	})
	for _, r := range db.rows() {
		if part.Contains(r.Key) {
			t.Errorf("key %x in the removed partition survived", r.Key)
		}
	}
}

func TestManualPrefixes(t *testing.T) {
	db := newMemDB()
	run(t, db, func(tr directory.Tx) error {
		if _, err := directory.Default().CreatePrefix(tr, []string{"a"}, nil, []byte("pre")); !errors.Is(err, directory.ErrManualPrefix) {
			t.Errorf("manual prefix on the default layer: %v", err)
		}
		dl := directory.New(subspace.FromBytes([]byte{0xfe}), subspace.Subspace{}, true)
		if _, err := dl.CreatePrefix(tr, []string{"a"}, nil, []byte("pre")); err != nil {
			return err
		}
		for _, p := range []string{"pre", "prefix", "pr"} {
			if _, err := dl.CreatePrefix(tr, []string{p}, nil, []byte(p)); !errors.Is(err, directory.ErrPrefixInUse) {
				t.Errorf("prefix %q overlapping pre: %v, want ErrPrefixInUse", p, err)
			}
		}
		if _, err := dl.CreatePrefix(tr, []string{"n"}, nil, []byte{0xfe, 1}); !errors.Is(err, directory.ErrPrefixInUse) {
			t.Errorf("prefix in the node subspace: %v, want ErrPrefixInUse", err)
		}
		return nil
	})
}

func TestVersionCheck(t *testing.T) {
	versionKey := string([]byte("\xfe\x01\xfe\x00\x01version\x00"))
	for _, c := range []struct {
		name               string
		version            []byte
		openErr, createErr error
	}{
		{"newer major", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, directory.ErrVersion, directory.ErrVersion},
		{"newer minor", []byte{1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, directory.ErrNotExist, directory.ErrVersion},
		{"same", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, directory.ErrNotExist, nil},
		{"corrupt", []byte{1}, directory.ErrVersion, directory.ErrVersion},
	} {
		db := newMemDB()
		db.data[versionKey] = c.version
		err := db.transact(func(tr directory.Tx) error {
			_, err := directory.Default().Open(tr, []string{"a"}, nil)
			return err
		})
		if !errors.Is(err, c.openErr) {
			t.Errorf("%s: open: %v, want %v", c.name, err, c.openErr)
		}
		err = db.transact(func(tr directory.Tx) error {
			_, err := directory.Default().Create(tr, []string{"a"}, nil)
			return err
		})
		if !errors.Is(err, c.createErr) {
			t.Errorf("%s: create: %v, want %v", c.name, err, c.createErr)
		}
	}
}

func TestInvalidUTF8PathIsRefused(t *testing.T) {
	db := newMemDB()
	err := db.transact(func(tr directory.Tx) error {
		_, err := directory.Default().CreateOrOpen(tr, []string{"ok", "\xff"}, nil)
		return err
	})
	if !errors.Is(err, directory.ErrInvalidPath) {
		t.Errorf("create with invalid UTF-8: %v, want ErrInvalidPath", err)
	}
}

// Metadata that no directory layer writes is reported, not trusted.
func TestCorruptMetadataIsAnError(t *testing.T) {
	db := newMemDB()
	db.data[h(t, "fe 01fe00 14 1501")] = []byte(h(t, "1502")) // a child named by an integer
	err := db.transact(func(tr directory.Tx) error {
		_, err := directory.Default().List(tr, nil)
		return err
	})
	if err == nil {
		t.Error("list over a child link without a name succeeded")
	}
	db = newMemDB()
	db.data[h(t, "fe 01fe00 0168636100 14 0278797a00")] = []byte(h(t, "0100000000000000")) // counter keyed by a string
	err = db.transact(func(tr directory.Tx) error {
		_, err := directory.Default().Create(tr, []string{"a"}, nil)
		return err
	})
	if err == nil {
		t.Error("create over a malformed allocator counter succeeded")
	}
}

func TestZeroDirectorySubspaceIsAnError(t *testing.T) {
	db := newMemDB()
	err := db.transact(func(tr directory.Tx) error {
		_, err := directory.DirectorySubspace{}.CreateOrOpen(tr, []string{"a"}, nil)
		return err
	})
	if err == nil {
		t.Error("create-or-open below a zero DirectorySubspace succeeded")
	}
}

// Operations relative to a directory resolve below it, and a partition's
// Exists/Remove with an empty path act on the partition itself.
func TestRelativeOperations(t *testing.T) {
	db := newMemDB()
	run(t, db, func(tr directory.Tx) error {
		app, err := directory.Default().Create(tr, []string{"app"}, nil)
		if err != nil {
			return err
		}
		if _, err := app.Create(tr, []string{"x"}, nil); err != nil {
			return err
		}
		if _, err := app.Move(tr, []string{"x"}, []string{"y"}); err != nil {
			return err
		}
		names, err := app.List(tr, nil)
		if err != nil {
			return err
		}
		if diff := cmp.Diff([]string{"y"}, names); diff != "" {
			t.Errorf("list app after relative move: %s", diff)
		}
		part, err := app.Create(tr, []string{"p"}, []byte("partition"))
		if err != nil {
			return err
		}
		if ok, err := part.Exists(tr, nil); !ok || err != nil {
			t.Errorf("partition exists: %v %v", ok, err)
		}
		if err := part.Remove(tr, nil); err != nil {
			return err
		}
		if ok, err := directory.Default().Exists(tr, []string{"app", "p"}); ok || err != nil {
			t.Errorf("partition exists after its Remove: %v %v", ok, err)
		}
		return nil
	})
}
