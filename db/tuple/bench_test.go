package tuple

import "testing"

var benchTuple = Tuple{"users", int64(12345), int64(7)}

func BenchmarkAppendPack(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = benchTuple.AppendPack(buf[:0])
	}
}

func BenchmarkPack(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = benchTuple.Pack()
	}
}

func BenchmarkUnpack(b *testing.B) {
	packed := benchTuple.Pack()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Unpack(packed); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPackWithVersionstamp(b *testing.B) {
	t := Tuple{"log", IncompleteVersionstamp(0)}
	prefix := []byte{0x15, 0x01}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.PackWithVersionstamp(prefix); err != nil {
			b.Fatal(err)
		}
	}
}
