package testhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// keepMarker in a slot directory marks a cluster meant to outlive its
// creator (testhosts up -detach).
const keepMarker = "keep"

// claimSlot takes the first slot whose lock is free and that is not kept,
// removing any leftovers of an earlier owner.
func claimSlot(keep bool) (*Cluster, error) {
	if err := os.MkdirAll(BaseDir, 0o700); err != nil {
		return nil, fmt.Errorf("testhost: %w", err)
	}
	for slot := 1; slot <= maxSlot; slot++ {
		lock, err := lockSlot(slot)
		if err != nil {
			return nil, err
		}
		if lock == nil {
			continue
		}
		dir := slotDir(slot)
		if _, err := os.Stat(filepath.Join(dir, keepMarker)); err == nil {
			lock.Close()
			continue
		}
		if err := removeResources(context.Background(), slot, false); err != nil {
			lock.Close()
			return nil, err
		}
		if subnetInUse(slot) {
			lock.Close()
			continue
		}
		if keep {
			if err := os.WriteFile(filepath.Join(dir, keepMarker), nil, 0o600); err != nil {
				lock.Close()
				return nil, fmt.Errorf("testhost: %w", err)
			}
		}
		return &Cluster{Slot: slot, Dir: dir, Bridge: bridgeName(slot), lock: lock}, nil
	}
	return nil, fmt.Errorf("testhost: all %d slots are in use", maxSlot)
}

// subnetInUse reports whether an address of this machine lies in the
// slot's subnet, which would make the slot's traffic ambiguous.
func subnetInUse(slot int) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	_, subnet, _ := net.ParseCIDR(fmt.Sprintf("10.213.%d.0/24", slot))
	for _, a := range addrs {
		if ipnet, ok := a.(*net.IPNet); ok && subnet.Contains(ipnet.IP) {
			return true
		}
	}
	return false
}

func slotDir(slot int) string { return filepath.Join(BaseDir, strconv.Itoa(slot)) }

// lockSlot returns the slot's lock, held, or nil when another live process
// holds it. It checks the lock file it locked is still the one at the
// path, since an owner that finishes deletes the directory.
func lockSlot(slot int) (*os.File, error) {
	dir := slotDir(slot)
	for {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("testhost: %w", err)
		}
		path := filepath.Join(dir, "lock")
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("testhost: %w", err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, nil
			}
			return nil, fmt.Errorf("testhost: lock %s: %w", path, err)
		}
		held, err1 := f.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			return f, nil
		}
		f.Close() // the directory was removed under us; start again
	}
}

// RemoveStale removes the leftovers of test hosts whose creator died
// (their slot lock is free) and that were not kept; live clusters are left
// alone.
func RemoveStale(ctx context.Context) error {
	return removeWhere(ctx, false)
}

// RemoveAll is RemoveStale plus kept clusters (testhosts down -all).
func RemoveAll(ctx context.Context) error {
	return removeWhere(ctx, true)
}

func removeWhere(ctx context.Context, includeKept bool) error {
	slots, err := leftoverSlots(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, slot := range slots {
		if _, err := os.Stat(filepath.Join(slotDir(slot), keepMarker)); err == nil && !includeKept {
			continue
		}
		lock, err := lockSlot(slot)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if lock == nil {
			continue // a live run owns it
		}
		errs = append(errs, removeSlot(ctx, slot))
		lock.Close()
	}
	return errors.Join(errs...)
}

var (
	nsPattern     = regexp.MustCompile(`^strata-(\d+)-h\d+$`)
	linkPattern   = regexp.MustCompile(`^(?:stv|stp)(\d+)h\d+$|^strbr(\d+)$`)
	slotDirPatten = regexp.MustCompile(`^\d+$`)
)

// leftoverSlots lists the slots that have a directory, a namespace or a
// link of ours.
func leftoverSlots(ctx context.Context) ([]int, error) {
	seen := map[int]bool{}
	add := func(s string) {
		if n, err := strconv.Atoi(s); err == nil && n >= 1 && n <= maxSlot {
			seen[n] = true
		}
	}
	entries, err := os.ReadDir(BaseDir)
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("testhost: %w", err)
	}
	for _, e := range entries {
		if slotDirPatten.MatchString(e.Name()) {
			add(e.Name())
		}
	}
	namespaces, err := listNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	for _, ns := range namespaces {
		if m := nsPattern.FindStringSubmatch(ns); m != nil {
			add(m[1])
		}
	}
	links, err := listLinks(ctx)
	if err != nil {
		return nil, err
	}
	for _, l := range links {
		if m := linkPattern.FindStringSubmatch(l); m != nil {
			add(m[1] + m[2])
		}
	}
	var slots []int
	for s := 1; s <= maxSlot; s++ {
		if seen[s] {
			slots = append(slots, s)
		}
	}
	return slots, nil
}

// removeSlot removes a slot's resources and its directory; the caller
// holds the slot's lock.
func removeSlot(ctx context.Context, slot int) error {
	return removeResources(ctx, slot, true)
}

// removeResources kills every process in the slot's namespaces, deletes
// the namespaces, any of its links left in this namespace, and, with
// withDir, its directory.
func removeResources(ctx context.Context, slot int, withDir bool) error {
	var errs []error
	namespaces, err := listNamespaces(ctx)
	errs = append(errs, err)
	for _, ns := range namespaces {
		if m := nsPattern.FindStringSubmatch(ns); m == nil || m[1] != strconv.Itoa(slot) {
			continue
		}
		errs = append(errs, killNamespace(ctx, ns))
		errs = append(errs, ipCmd(ctx, "netns", "delete", ns))
	}
	links, err := listLinks(ctx)
	errs = append(errs, err)
	for _, l := range links {
		if m := linkPattern.FindStringSubmatch(l); m != nil && m[1]+m[2] == strconv.Itoa(slot) {
			if err := ipCmd(ctx, "link", "delete", l); err != nil && linkExists(ctx, l) {
				errs = append(errs, err) // a veth goes away with its peer's namespace
			}
		}
	}
	if withDir {
		errs = append(errs, removeDir(slotDir(slot)))
	}
	return errors.Join(errs...)
}

// removeDir removes a slot directory but keeps its lock file until the
// end, so nobody takes the slot while its files are going.
func removeDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	for _, e := range entries {
		if e.Name() == "lock" {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("testhost: %w", err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("testhost: %w", err)
	}
	return nil
}

// killNamespace SIGKILLs every process in the network namespace (sshd,
// sessions, and whatever a test started there).
func killNamespace(ctx context.Context, ns string) error {
	out, err := ipOutput(ctx, "netns", "pids", ns)
	if err != nil {
		return err
	}
	for _, f := range strings.Fields(out) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

func listNamespaces(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir("/run/netns")
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("testhost: %w", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

func listLinks(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir("/sys/class/net")
	if err != nil {
		return nil, fmt.Errorf("testhost: %w", err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

func linkExists(ctx context.Context, name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/net", name))
	return err == nil
}

func runAll(ctx context.Context, cmds ...[]string) error {
	for _, args := range cmds {
		if err := ipCmd(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

func ipCmd(ctx context.Context, args ...string) error {
	_, err := ipOutput(ctx, args...)
	return err
}

func ipOutput(ctx context.Context, args ...string) (string, error) {
	ip, err := lookTool("ip")
	if err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, ip, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("testhost: ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
