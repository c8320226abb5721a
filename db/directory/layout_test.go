package directory_test

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/strata-db/strata/db/directory"
	"github.com/strata-db/strata/db/kv"
)

// The expected keys below are written out by hand from FoundationDB's
// directory layer layout (bindings/python/fdb/directory_impl.py) and tuple
// encoding, not computed with this package's code:
//
//	node subspace      fe
//	root node          fe + pack((b'\xfe',))            = fe 01 fe 00
//	version key        root + pack((b'version',))       -> '<III' (1, 0, 0)
//	allocator          root + pack((b'hca',))           = fe01fe00 01 'hca' 00
//	  counters[start]  hca + pack((0, start))           -> '<q' count
//	  recent[c]        hca + pack((1, c))               -> ''
//	child link         parent node + pack((0, name))    -> child's prefix
//	node of prefix p   fe + pack((p,))
//	layer key          node + pack((b'layer',))         -> layer

func h(t *testing.T, s string) string {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return string(b)
}

func dump(rows []kv.KeyValue) map[string]string {
	out := map[string]string{}
	for _, r := range rows {
		out[string(r.Key)] = string(r.Value)
	}
	return out
}

// hexMap shows a diff in hex.
var hexMap = cmp.Transformer("hex", func(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[hex.EncodeToString([]byte(k))] = hex.EncodeToString([]byte(v))
	}
	return out
})

func TestCreateAppWritesFoundationDBKeys(t *testing.T) {
	db := newMemDB()
	db.pick = func(n int64) int64 {
		if n != 64 {
			t.Fatalf("first window has %d candidates, want 64", n)
		}
		return 7
	}
	var dir directory.DirectorySubspace
	if err := db.transact(func(tr directory.Tx) (err error) {
		dir, err = directory.Default().Create(tr, []string{"app"}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		// version 1.0.0
		h(t, "fe 01fe00 0176657273696f6e00"): h(t, "01000000 00000000 00000000"),
		// allocator: one allocation in the window starting at 0; candidate 7 taken
		h(t, "fe 01fe00 0168636100 14 14"):     h(t, "0100000000000000"),
		h(t, "fe 01fe00 0168636100 1501 1507"): "",
		// root's child link "app" -> prefix pack((7,)) = 15 07
		h(t, "fe 01fe00 14 0261707000"): h(t, "1507"),
		// app's node: layer ''
		h(t, "fe 01150700 016c6179657200"): "",
	}
	if diff := cmp.Diff(want, dump(db.rows()), hexMap); diff != "" {
		t.Errorf("keys after create(app) (-want +got):\n%s", diff)
	}
	if got := hex.EncodeToString(dir.Bytes()); got != "1507" {
		t.Errorf("prefix %s, want 1507", got)
	}
	if diff := cmp.Diff([]string{"app"}, dir.Path()); diff != "" {
		t.Error(diff)
	}
}

func TestNestedCreateLinksUnderParentNode(t *testing.T) {
	db := newMemDB()
	picks := []int64{7, 3}
	db.pick = func(int64) int64 { p := picks[0]; picks = picks[1:]; return p }
	if err := db.transact(func(tr directory.Tx) error {
		_, err := directory.Default().Create(tr, []string{"app"}, nil)
		if err != nil {
			return err
		}
		_, err = directory.Default().Create(tr, []string{"app", "users"}, []byte("tbl"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := dump(db.rows())
	checks := map[string]string{
		h(t, "fe 01fe00 0168636100 14 14"):     h(t, "0200000000000000"),
		h(t, "fe 01fe00 0168636100 1501 1503"): "",
		h(t, "fe 01150700 14 02757365727300"):  h(t, "1503"),
		h(t, "fe 01150300 016c6179657200"):     "tbl",
	}
	for k, v := range checks {
		if gv, ok := got[k]; !ok || gv != v {
			t.Errorf("key %x = %x (present %v), want %x", k, gv, ok, v)
		}
	}
	// version, one counter, two recent markers, two links, two layers
	if len(got) != 8 {
		t.Errorf("%d keys, want 8", len(got))
	}
}

func TestPartitionKeepsItsOwnLayoutInsideItsPrefix(t *testing.T) {
	db := newMemDB()
	picks := []int64{5, 9}
	db.pick = func(int64) int64 { p := picks[0]; picks = picks[1:]; return p }
	var x directory.DirectorySubspace
	if err := db.transact(func(tr directory.Tx) error {
		p, err := directory.Default().Create(tr, []string{"p"}, []byte("partition"))
		if err != nil {
			return err
		}
		if !p.IsPartition() {
			t.Error("a directory with layer partition is not a partition")
		}
		x, err = p.Create(tr, []string{"x"}, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// The partition at prefix 15 05 has node subspace 15 05 fe, root node
	// 1505fe + pack((b'\x15\x05\xfe',)), contents under 15 05.
	want := map[string]string{
		h(t, "fe 01fe00 0176657273696f6e00"):           h(t, "01000000 00000000 00000000"),
		h(t, "fe 01fe00 0168636100 14 14"):             h(t, "0100000000000000"),
		h(t, "fe 01fe00 0168636100 1501 1505"):         "",
		h(t, "fe 01fe00 14 027000"):                    h(t, "1505"),
		h(t, "fe 01150500 016c6179657200"):             "partition",
		h(t, "1505fe 011505fe00 0176657273696f6e00"):   h(t, "01000000 00000000 00000000"),
		h(t, "1505fe 011505fe00 0168636100 14 14"):     h(t, "0100000000000000"),
		h(t, "1505fe 011505fe00 0168636100 1501 1509"): "",
		h(t, "1505fe 011505fe00 14 027800"):            h(t, "15051509"),
		h(t, "1505fe 0115051509 00 016c6179657200"):    "",
	}
	if diff := cmp.Diff(want, dump(db.rows()), hexMap); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
	if got := hex.EncodeToString(x.Bytes()); got != "15051509" {
		t.Errorf("prefix of p/x %s, want 15051509", got)
	}
	if diff := cmp.Diff([]string{"p", "x"}, x.Path()); diff != "" {
		t.Error(diff)
	}
}
