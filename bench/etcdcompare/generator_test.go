package etcdcompare

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestGeneratorKeysAndValues(t *testing.T) {
	for _, n := range []int{0, 7, 123456, keySpace - 1} {
		if got, want := string(appendKey(nil, n)), fmt.Sprintf("bench/%010d", n); got != want {
			t.Errorf("key %d: %q, want %q", n, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	v := make([]byte, 100)
	fillLetters(rng, v)
	for i, c := range v {
		if c < 'a' || c > 'z' {
			t.Fatalf("value byte %d is %q, not a lower-case letter", i, c)
		}
	}
}
