package testhost_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-db/strata/test/e2e/testhost"
)

func TestHostsArePrivateAndCleanedUp(t *testing.T) {
	ctx := context.Background()
	if err := testhost.Requirements(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	c, err := testhost.Create(ctx, 2, testhost.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			c.Close()
		}
	})
	h1, h2 := c.Hosts[0], c.Hosts[1]
	if _, err := c.Exec(ctx, h1, "sh", "-c", "echo one > /etc/strata/marker"); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(h1.Path("/etc/strata/marker")); err != nil || !bytes.Equal(got, []byte("one\n")) {
		t.Errorf("host 1's /etc/strata/marker seen from outside = %q, %v; want \"one\\n\"", got, err)
	}
	if out, err := c.Exec(ctx, h2, "sh", "-c", "test ! -e /etc/strata/marker"); err != nil {
		t.Errorf("host 2 sees host 1's file: %v %s", err, out)
	}
	if _, err := os.Stat("/etc/strata/marker"); !os.IsNotExist(err) {
		t.Errorf("the machine's /etc/strata/marker: %v; want it absent", err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	for _, h := range c.Hosts {
		if _, err := os.Stat(filepath.Join("/run/netns", h.Namespace)); !os.IsNotExist(err) {
			t.Errorf("namespace %s still exists after Close (%v)", h.Namespace, err)
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/class/net", c.Bridge)); !os.IsNotExist(err) {
		t.Errorf("bridge %s still exists after Close", c.Bridge)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("directory %s still exists after Close", c.Dir)
	}
}
