package workloads

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// SelfTestConfig shapes the runtime self-test workload.
type SelfTestConfig struct {
	// Servers run the echo service.
	Servers []flow.Address
	// Operations is how many quorum operations each client runs.
	Operations int
	// Timeout bounds one attempt of an operation.
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one operation.
	MaxAttempts int
	// MeanThinkTime is the mean pause between a client's operations, so
	// that operations spread over the time faults are injected.
	MeanThinkTime time.Duration
}

// SelfTest is the runtime's self-test: clients send each operation to every
// echo server and wait for a majority of replies with a timeout, retrying
// with a new attempt number, while the simulator injects faults. It records
// what it sees for Check. All of its state is touched only with the loop's
// baton.
type SelfTest struct {
	cfg SelfTestConfig

	delivered map[deliveryKey]int
	// durable holds, per server, the requests its journal holds: what its
	// latest boot recovered from disk plus what it synced since.
	durable map[flow.Address]map[deliveryKey]bool
	// acked holds the requests whose reply a client received; each must be
	// durable on its server.
	acked    []deliveryKey
	problems []string
	requests []flow.Future[*wire.EchoReply]

	Issued, Replied, Failed          int
	OpsSucceeded, OpsGaveUp, Retries int
}

type deliveryKey struct {
	server, client string
	id             uint64
	attempt        uint32
}

// NewSelfTest returns the workload's shared state.
func NewSelfTest(cfg SelfTestConfig) *SelfTest {
	return &SelfTest{cfg: cfg, delivered: map[deliveryKey]int{}, durable: map[flow.Address]map[deliveryKey]bool{}}
}

// BootServer starts an echo server on e whose journal lives on e's disk. It
// recovers the journal first: what survived the last crash becomes the
// server's durable set.
func (w *SelfTest) BootServer(e *flow.Env) {
	log, records, err := openRecordLog(e.Files(), "echo.journal")
	if err != nil {
		w.problem("server %s cannot open its journal: %v", e.Address(), err)
		return
	}
	set := map[deliveryKey]bool{}
	for _, r := range records {
		k, err := decodeDeliveryKey(r)
		if err != nil {
			w.problem("server %s journal holds a bad record: %v", e.Address(), err)
			continue
		}
		set[k] = true
	}
	w.durable[e.Address()] = set
	ServeEcho(e, w, &echoJournal{w: w, log: log, set: set, server: e.Address()})
}

type echoJournal struct {
	w      *SelfTest
	log    *recordLog
	set    map[deliveryKey]bool
	server flow.Address
}

func (j *echoJournal) Record(c *flow.Ctx, req *wire.EchoRequest) error {
	k := deliveryKey{string(j.server), req.From, req.Id, req.Attempt}
	if err := j.log.append(c, k.encode()); err != nil {
		return err
	}
	j.set[k] = true
	return nil
}

func (k deliveryKey) encode() []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d", k.server, k.client, k.id, k.attempt)
}

func decodeDeliveryKey(b []byte) (deliveryKey, error) {
	parts := strings.Split(string(b), "\x00")
	if len(parts) != 4 {
		return deliveryKey{}, fmt.Errorf("record %q has %d fields, want 4", b, len(parts))
	}
	var k deliveryKey
	k.server, k.client = parts[0], parts[1]
	if _, err := fmt.Sscan(parts[2], &k.id); err != nil {
		return deliveryKey{}, fmt.Errorf("record %q: id: %w", b, err)
	}
	if _, err := fmt.Sscan(parts[3], &k.attempt); err != nil {
		return deliveryKey{}, fmt.Errorf("record %q: attempt: %w", b, err)
	}
	return k, nil
}

// SetServers names the echo servers (known only once they are added).
func (w *SelfTest) SetServers(servers []flow.Address) { w.cfg.Servers = servers }

// Received implements EchoObserver: a second delivery of the same request
// to the same server is a problem.
func (w *SelfTest) Received(server flow.Address, req *wire.EchoRequest) {
	k := deliveryKey{string(server), req.From, req.Id, req.Attempt}
	w.delivered[k]++
	if w.delivered[k] == 2 {
		w.problem("request %s/%d/%d delivered twice to %s", req.From, req.Id, req.Attempt, server)
	}
}

func (w *SelfTest) problem(format string, args ...any) {
	if len(w.problems) < 20 {
		w.problems = append(w.problems, fmt.Sprintf(format, args...))
	}
}

// RunClient runs one client's operations to completion.
func (w *SelfTest) RunClient(c *flow.Ctx) error {
	client := fmt.Sprintf("%s/%s", c.Address(), c.Name())
	for id := uint64(1); id <= uint64(w.cfg.Operations); id++ {
		if err := c.Sleep(time.Duration(c.Rand().Int64N(int64(2*w.cfg.MeanThinkTime) + 1))); err != nil {
			return err
		}
		if err := w.operation(c, client, id); err != nil {
			return err
		}
	}
	return nil
}

// operation tries one id until a majority answers or attempts run out.
func (w *SelfTest) operation(c *flow.Ctx, client string, id uint64) error {
	payload := make([]byte, c.Rand().IntN(64))
	for i := range payload {
		payload[i] = byte(c.Rand().Uint32())
	}
	for attempt := uint32(1); attempt <= uint32(w.cfg.MaxAttempts); attempt++ {
		ok, err := w.attempt(c, &wire.EchoRequest{Id: id, Attempt: attempt, Payload: payload, From: client})
		if err != nil || ok {
			if ok {
				w.OpsSucceeded++
			}
			return err
		}
		w.Retries++
		backoff := time.Duration(c.Rand().Int64N(int64(50*time.Millisecond))) << min(attempt, 4)
		if err := c.Sleep(backoff); err != nil {
			return err
		}
	}
	w.OpsGaveUp++
	return nil
}

// attempt sends req to every server and waits, at most the timeout, for a
// majority of good replies. It reports whether the majority came.
func (w *SelfTest) attempt(c *flow.Ctx, req *wire.EchoRequest) (bool, error) {
	n := len(w.cfg.Servers)
	need := n/2 + 1
	fs := make([]flow.Future[*wire.EchoReply], n)
	for i, s := range w.cfg.Servers {
		fs[i] = EchoStream(s).GetReply(c.Env, req)
		w.Issued++
		w.requests = append(w.requests, fs[i])
		w.track(fs[i], req, s)
	}
	timeout := w.cfg.Timeout
	if c.Buggify("SelfTestShortTimeout") {
		timeout /= 10
	}
	deadline := c.Delay(timeout)
	for {
		good, bad := 0, 0
		var pending []flow.Waitable
		for _, f := range fs {
			switch {
			case !f.IsReady():
				pending = append(pending, f)
			case f.Err() == nil:
				good++
			default:
				bad++
			}
		}
		if good >= need {
			return true, nil
		}
		if bad > n-need || deadline.IsReady() {
			return false, nil
		}
		if _, err := flow.Select(c, append(pending, deadline)...); err != nil {
			return false, err
		}
	}
}

// track checks each reply against its request when it arrives.
func (w *SelfTest) track(f flow.Future[*wire.EchoReply], req *wire.EchoRequest, server flow.Address) {
	f.OnReady(func(rep *wire.EchoReply, err error) {
		if err != nil {
			w.Failed++
			if !errors.Is(err, flow.ErrRequestMaybeDelivered) && !errors.Is(err, flow.ErrOperationCancelled) {
				w.problem("request %d/%d to %s failed with unexpected error %v", req.Id, req.Attempt, server, err)
			}
			return
		}
		w.Replied++
		if cerr := checkEcho(req, rep, server); cerr != nil {
			w.problem("%v", cerr)
		}
		w.acked = append(w.acked, deliveryKey{string(server), req.From, req.Id, req.Attempt})
	})
}

// Check reports every violated property: a request delivered twice, a reply
// that answers the wrong request, an unexpected error, or — once the run has
// quiesced — a request neither answered nor failed.
func (w *SelfTest) Check() error {
	problems := slices.Clone(w.problems)
	unresolved := 0
	for _, f := range w.requests {
		if !f.IsReady() {
			unresolved++
		}
	}
	if unresolved > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d requests were never answered nor failed", unresolved, len(w.requests)))
	}
	lost := 0
	for _, k := range w.acked {
		if set := w.durable[flow.Address(k.server)]; set != nil && !set[k] {
			if lost++; lost <= 3 {
				problems = append(problems, fmt.Sprintf("server %s answered %s/%d/%d but its journal lost it", k.server, k.client, k.id, k.attempt))
			}
		}
	}
	if lost > 3 {
		problems = append(problems, fmt.Sprintf("%d acknowledged journal records lost in all", lost))
	}
	if w.Replied+w.Failed+unresolved != w.Issued {
		problems = append(problems, fmt.Sprintf("accounting: %d issued but %d replied + %d failed + %d unresolved", w.Issued, w.Replied, w.Failed, unresolved))
	}
	if len(problems) == 0 {
		return nil
	}
	return errors.New("self-test: " + strings.Join(problems, "; "))
}

// Summary describes what the run did.
func (w *SelfTest) Summary() string {
	return fmt.Sprintf("requests issued=%d replied=%d failed=%d; operations ok=%d gave-up=%d retries=%d",
		w.Issued, w.Replied, w.Failed, w.OpsSucceeded, w.OpsGaveUp, w.Retries)
}
