// Command testhosts creates and removes the namespace test hosts of
// package testhost, for trying the deployer by hand or running tools
// (ssh, ansible) against them.
//
//	testhosts up [-n 5] [-detach] [-systemd K]
//	                                make N hosts, the first K booting systemd
//	                                as PID 1; without -detach, keep them
//	                                until ^C or SIGTERM, then remove them
//	testhosts down [-all]           remove hosts whose creator died; -all
//	                                also removes detached ones
//	testhosts list                  show the clusters on this machine
//
// It needs root, iproute2, util-linux and openssh-server; -systemd also
// systemd-nspawn and the root filesystem of `make systemd-rootfs`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/strata-db/strata/test/e2e/testhost"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "testhosts:", err)
		os.Exit(1)
	}
}

const usage = "usage: testhosts up [-n N] [-detach] [-systemd K] | down [-all] | list"

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	switch args[0] {
	case "up":
		return up(ctx, args[1:], out)
	case "down":
		fs := flag.NewFlagSet("down", flag.ContinueOnError)
		all := fs.Bool("all", false, "also remove detached clusters")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *all {
			return testhost.RemoveAll(ctx)
		}
		return testhost.RemoveStale(ctx)
	case "list":
		return list(out)
	default:
		return fmt.Errorf("unknown command %q; %s", args[0], usage)
	}
}

func up(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	n := fs.Int("n", 3, "number of hosts")
	detach := fs.Bool("detach", false, "leave the hosts running after exiting (remove them with down -all)")
	systemd := fs.Int("systemd", 0, "how many of the hosts (the first ones) boot systemd as PID 1")
	if err := fs.Parse(args); err != nil {
		return err
	}
	c, err := testhost.Create(ctx, *n, testhost.Options{Keep: *detach, Systemd: *systemd})
	if err != nil {
		return err
	}
	summary := describe(c)
	if err := os.WriteFile(filepath.Join(c.Dir, "README"), []byte(summary), 0o600); err != nil {
		return errors.Join(err, c.Close())
	}
	fmt.Fprint(out, summary)
	if *detach {
		return nil
	}
	fmt.Fprintln(out, "\nPress ^C to remove them.")
	<-ctx.Done()
	return c.Close()
}

// describe says how to reach the hosts, with a cluster-description
// fragment for the deployer.
func describe(c *testhost.Cluster) string {
	var b strings.Builder
	fmt.Fprintf(&b, "test hosts, slot %d (files in %s)\n", c.Slot, c.Dir)
	for _, h := range c.Hosts {
		init := ""
		if h.Systemd {
			init = " (systemd)"
		}
		fmt.Fprintf(&b, "  %-4s %-15s netns %-16s files %s%s\n", h.Name, h.Address, h.Namespace, h.Root, init)
	}
	first := c.Hosts[0]
	fmt.Fprintf(&b, "\nssh -i %s -o UserKnownHostsFile=%s root@%s\n", c.ClientKey, c.KnownHosts, first.Address)
	fmt.Fprintf(&b, "\nssh {\n  user              = \"root\"\n  private_key_files = [%q]\n  known_hosts       = %q\n}\n",
		c.ClientKey, c.KnownHosts)
	for _, h := range c.Hosts {
		fmt.Fprintf(&b, "host %q {\n  address = %q\n}\n", h.Name, h.Address)
	}
	return b.String()
}

func list(out io.Writer) error {
	entries, err := os.ReadDir(testhost.BaseDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		summary, err := os.ReadFile(filepath.Join(testhost.BaseDir, e.Name(), "README"))
		if err != nil {
			fmt.Fprintf(out, "slot %s: no summary (being created, or left by a crash; `testhosts down` removes the latter)\n", e.Name())
			continue
		}
		first, _, _ := strings.Cut(string(summary), "\n\n")
		fmt.Fprintln(out, first)
	}
	return nil
}
