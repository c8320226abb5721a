// Command sshphases times the phases of what a no-change `strata plan`
// does over SSH, against running test hosts (testhosts up): TCP connect,
// key exchange (up to the host-key check), authentication, session open,
// the command, per host and in total, all hosts at once; and the CPU the
// client and each host's sshd (with everything it started) used.
//
//	sshphases -slot 1 [-rounds 10] [-script FILE] [-stdin FILE] [-reuse]
//
// With -stdin the file is sent as the command's standard input (an upload
// as apply streams the release).
//
// With -reuse the connections are made once and only session and command
// are timed in later rounds: the cost a persistent connection leaves.
package main

import (
	"bytes"

	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

type phases struct {
	tcp, kex, auth, session, command, total time.Duration
	algs                                    string
}

func main() {
	slot := flag.Int("slot", 1, "test host slot (testhosts list)")
	rounds := flag.Int("rounds", 10, "rounds")
	scriptFile := flag.String("script", "", "file with the command to run (default: true)")
	reuse := flag.Bool("reuse", false, "connect once, then time sessions only")
	stdinFile := flag.String("stdin", "", "file sent as the command's standard input")
	flag.Parse()
	if err := run(*slot, *rounds, *scriptFile, *stdinFile, *reuse); err != nil {
		fmt.Fprintln(os.Stderr, "sshphases:", err)
		os.Exit(1)
	}
}

func run(slot, rounds int, scriptFile, stdinFile string, reuse bool) error {
	dir := filepath.Join("/tmp/strata-testhosts", strconv.Itoa(slot))
	script := "true"
	if scriptFile != "" {
		b, err := os.ReadFile(scriptFile)
		if err != nil {
			return err
		}
		script = string(b)
	}
	kh := filepath.Join(dir, "known_hosts")
	db, err := knownhosts.New(kh)
	if err != nil {
		return err
	}
	pem, err := os.ReadFile(filepath.Join(dir, "client_key"))
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		return err
	}
	khText, err := os.ReadFile(kh)
	if err != nil {
		return err
	}
	var addrs []string
	for _, l := range strings.Split(strings.TrimSpace(string(khText)), "\n") {
		addrs = append(addrs, net.JoinHostPort(strings.Fields(l)[0], "22"))
	}
	sshdPIDs := map[string]int{}
	for i, a := range addrs {
		b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("h%d", i+1), "sshd.pid"))
		if err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			sshdPIDs[a] = pid
		}
	}
	conns := make([]*ssh.Client, len(addrs))
	var all [][]phases
	var walls []time.Duration
	var sshdCPU, clientCPU []time.Duration
	for r := 0; r < rounds; r++ {
		before := map[string]time.Duration{}
		for a, pid := range sshdPIDs {
			before[a] = childCPU(pid)
		}
		cBefore := selfCPU()
		res := make([]phases, len(addrs))
		errs := make([]error, len(addrs))
		start := time.Now()
		var wg sync.WaitGroup
		for i, a := range addrs {
			wg.Go(func() {
				res[i], conns[i], errs[i] = one(a, db, signer, script, stdinFile, conns[i], reuse)
			})
		}
		wg.Wait()
		wall := time.Since(start)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		var s time.Duration
		for a, pid := range sshdPIDs {
			s += childCPU(pid) - before[a]
		}
		sshdCPU = append(sshdCPU, s)
		clientCPU = append(clientCPU, selfCPU()-cBefore)
		if !reuse {
			for i := range conns {
				conns[i].Close()
				conns[i] = nil
			}
		}
		if reuse && r == 0 {
			continue // the connecting round
		}
		all = append(all, res)
		walls = append(walls, wall)
	}
	fmt.Printf("%d hosts in parallel, %d rounds, algorithms %s\n", len(addrs), len(walls), all[0][0].algs)
	fmt.Printf("median over rounds of each host's phase (ms); min..max over hosts and rounds\n")
	pick := func(f func(phases) time.Duration) string {
		var v []time.Duration
		for _, round := range all {
			for _, p := range round {
				v = append(v, f(p))
			}
		}
		slices.Sort(v)
		return fmt.Sprintf("%6.1f (%5.1f..%6.1f)", ms(v[len(v)/2]), ms(v[0]), ms(v[len(v)-1]))
	}
	fmt.Printf("  tcp connect   %s\n", pick(func(p phases) time.Duration { return p.tcp }))
	fmt.Printf("  key exchange  %s\n", pick(func(p phases) time.Duration { return p.kex }))
	fmt.Printf("  auth          %s\n", pick(func(p phases) time.Duration { return p.auth }))
	fmt.Printf("  session open  %s\n", pick(func(p phases) time.Duration { return p.session }))
	fmt.Printf("  command       %s\n", pick(func(p phases) time.Duration { return p.command }))
	fmt.Printf("  host total    %s\n", pick(func(p phases) time.Duration { return p.total }))
	fmt.Printf("  all hosts     %s\n", med(walls))
	fmt.Printf("  sshd CPU, all hosts %s   client CPU %s\n", med(sshdCPU), med(clientCPU))
	return nil
}

func one(addr string, hk ssh.HostKeyCallback, signer ssh.Signer, script, stdinFile string, conn *ssh.Client, reuse bool) (phases, *ssh.Client, error) {
	var p phases
	t0 := time.Now()
	if conn == nil {
		var tKex time.Time
		cfg := &ssh.ClientConfig{
			User: "root",
			Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
			HostKeyCallback: func(h string, r net.Addr, k ssh.PublicKey) error {
				tKex = time.Now()
				return hk(h, r, k)
			},
			HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		}
		tc, err := net.Dial("tcp", addr)
		if err != nil {
			return p, nil, err
		}
		t1 := time.Now()
		c, chans, reqs, err := ssh.NewClientConn(tc, addr, cfg)
		if err != nil {
			return p, nil, err
		}
		t2 := time.Now()
		conn = ssh.NewClient(c, chans, reqs)
		p.tcp, p.kex, p.auth = t1.Sub(t0), tKex.Sub(t1), t2.Sub(tKex)
	}
	p.algs = fmt.Sprintf("%+v", conn.Conn.(interface {
		Algorithms() ssh.NegotiatedAlgorithms
	}).Algorithms())
	t3 := time.Now()
	sess, err := conn.NewSession()
	if err != nil {
		return p, conn, err
	}
	defer sess.Close()
	t4 := time.Now()
	var out bytes.Buffer
	sess.Stdout = &out
	if stdinFile != "" {
		f, err := os.Open(stdinFile)
		if err != nil {
			return p, conn, err
		}
		defer f.Close()
		sess.Stdin = f
	}
	if err := sess.Run(script); err != nil {
		return p, conn, fmt.Errorf("%s: %w", addr, err)
	}
	t5 := time.Now()
	p.session, p.command, p.total = t4.Sub(t3), t5.Sub(t4), t5.Sub(t0)
	return p, conn, nil
}

// childCPU is the user+system time of pid's waited-for descendants: for a
// host's sshd, every connection it served and what those started.
func childCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// fields after the command: state is f[0]; utime f[11], stime f[12],
	// cutime f[13], cstime f[14], in clock ticks (100 Hz).
	var t int64
	for _, i := range []int{11, 12, 13, 14} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		t += v
	}
	return time.Duration(t) * 10 * time.Millisecond
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func med(v []time.Duration) string {
	v = slices.Clone(v)
	slices.Sort(v)
	return fmt.Sprintf("%6.1f ms (%.1f..%.1f)", ms(v[len(v)/2]), ms(v[0]), ms(v[len(v)-1]))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
