package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/strata-db/strata/deployer/remote"
	"github.com/strata-db/strata/test/e2e/testhost"
)

const benchHosts = 8

// forEachHost runs fn on every host at once and fails b on any error.
func forEachHost(b *testing.B, hs []remote.Host, fn func(remote.Host) error) {
	var wg sync.WaitGroup
	errs := make(chan error, len(hs))
	for _, h := range hs {
		wg.Go(func() {
			if err := fn(h); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// One iteration: a fresh pool connects to 8 hosts in parallel (handshake,
// host-key check, auth) and runs `true` on each.
func BenchmarkConnectAndRunTrue8(b *testing.B) {
	c := testhost.New(b, benchHosts)
	ctx := context.Background()
	for b.Loop() {
		p := newPool(b, remote.Options{})
		hs := make([]remote.Host, len(c.Hosts))
		for i, h := range c.Hosts {
			host, err := p.Host(specHost(c, h, c.KnownHosts))
			if err != nil {
				b.Fatal(err)
			}
			hs[i] = host
		}
		forEachHost(b, hs, func(h remote.Host) error {
			_, err := h.Run(ctx, "true", remote.RunOpts{})
			return err
		})
		p.Close()
	}
}

// Runs `true` on 8 hosts over connections that are already open: the cost
// of one multiplexed session per command.
func BenchmarkRunTrueConnected8(b *testing.B) {
	c := testhost.New(b, benchHosts)
	ctx := context.Background()
	p := newPool(b, remote.Options{})
	hs := make([]remote.Host, len(c.Hosts))
	for i, h := range c.Hosts {
		hs[i] = connect(b, p, specHost(c, h, c.KnownHosts))
	}
	for b.Loop() {
		forEachHost(b, hs, func(h remote.Host) error {
			_, err := h.Run(ctx, "true", remote.RunOpts{})
			return err
		})
	}
}

// Uploads 30 MB to each of 8 hosts in parallel, digest checked and synced
// on every host; each iteration writes a new path so nothing is skipped.
func BenchmarkUpload30MB8(b *testing.B) {
	c := testhost.New(b, benchHosts)
	ctx := context.Background()
	p := newPool(b, remote.Options{})
	hs := make([]remote.Host, len(c.Hosts))
	for i, h := range c.Hosts {
		hs[i] = connect(b, p, specHost(c, h, c.KnownHosts))
	}
	data, sum := randomBytes(b, 30<<20)
	b.SetBytes(int64(len(data)) * benchHosts)
	iter := 0
	for b.Loop() {
		iter++
		dst := fmt.Sprintf("/opt/strata/releases/bench-%d/strata", iter)
		forEachHost(b, hs, func(h remote.Host) error {
			return h.Upload(ctx, bytes.NewReader(data), int64(len(data)), dst, 0o755, sum)
		})
		b.StopTimer()
		forEachHost(b, hs, func(h remote.Host) error {
			_, err := h.Run(ctx, "rm -rf /opt/strata/releases/bench-*", remote.RunOpts{})
			return err
		})
		b.StartTimer()
	}
}
