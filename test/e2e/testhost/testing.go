package testhost

import (
	"context"
	"testing"
)

// New makes n hosts for a test and removes them when it ends, even if it
// fails or panics. It skips the test, saying why, when the machine cannot
// make test hosts.
func New(t testing.TB, n int) *Cluster {
	t.Helper()
	if err := Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	c, err := Create(context.Background(), n, Options{})
	if err != nil {
		t.Fatalf("test hosts: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("removing test hosts: %v", err)
		}
	})
	return c
}
