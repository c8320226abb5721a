package controller

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/strata-db/strata/db/server/recruit"
	"github.com/strata-db/strata/db/status"
	"github.com/strata-db/strata/db/wire"
)

// TestDDPlanDataDriven runs testdata/ddplan/*.txt against the split and
// balance planners. Commands:
//
//	servers            input: one live storage server a line,
//	                   "ID zone=Z [fit=N] [excluded] [maintenance]"
//	shards             input: one shard a line, in key order,
//	                   "BEGIN BYTES servers=a,b [dest=c,d] [split=KEY]"; BEGIN
//	                   "-" is the first key; BYTES "?" is unmeasured; each
//	                   shard ends where the next begins
//	split max=N [limit=N]     planSplits
//	balance mode=M [min=N]    planBalance
//	loads                     serverLoads
//	maxshard total=N [knob=N] the split size for a database of N bytes
func TestDDPlanDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata/ddplan", func(t *testing.T, path string) {
		var h ddHarness
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := h.run(t, d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

type ddHarness struct {
	servers []recruit.StorageServer
	fit     map[string]recruit.Fit
	maint   map[string]bool
	shards  []shardLoad
}

func (h *ddHarness) run(t *testing.T, d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "servers":
		h.parseServers(t, d.Input)
		return "", nil
	case "shards":
		h.parseShards(t, d.Input)
		return "", nil
	case "split":
		limit := 100
		if d.HasArg("limit") {
			d.ScanArgs(t, "limit", &limit)
		}
		var maxBytes int64
		d.ScanArgs(t, "max", &maxBytes)
		var b strings.Builder
		for _, s := range planSplits(h.shards, maxBytes, limit) {
			fmt.Fprintf(&b, "split %s at %s\n", keyName(s.begin), s.at)
		}
		if b.Len() == 0 {
			return "none\n", nil
		}
		return b.String(), nil
	case "balance":
		var modeName string
		d.ScanArgs(t, "mode", &modeName)
		mode, err := recruit.ParseMode(modeName)
		if err != nil {
			return "", err
		}
		var minDiff int64 = 1
		if d.HasArg("min") {
			d.ScanArgs(t, "min", &minDiff)
		}
		mv := planBalance(balanceInput{shards: h.shards, servers: h.servers, mode: mode, fit: h.fit,
			maintenance: h.maint, minDiff: minDiff})
		if mv == nil {
			return "none\n", nil
		}
		return fmt.Sprintf("move %s (%d bytes) from %s to %s\n", keyName(mv.begin), mv.bytes,
			strings.Join(mv.src, ","), strings.Join(mv.dest, ",")), nil
	case "loads":
		load := serverLoads(h.shards)
		var b strings.Builder
		for _, s := range h.servers {
			fmt.Fprintf(&b, "%s %d\n", s.ID, load[s.ID])
		}
		return b.String(), nil
	case "maxshard":
		var total, knob int64
		d.ScanArgs(t, "total", &total)
		if d.HasArg("knob") {
			d.ScanArgs(t, "knob", &knob)
		}
		k := DataDistributionKnobs{MaxShardBytes: knob}
		m := k.maxShardBytes(total)
		return fmt.Sprintf("max %d balance %d\n", m, k.balanceMinBytes(m)), nil
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

func keyName(k []byte) string {
	if len(k) == 0 {
		return "-"
	}
	return string(k)
}

func (h *ddHarness) parseServers(t *testing.T, input string) {
	h.servers, h.fit, h.maint = nil, map[string]recruit.Fit{}, map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(input), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		s := recruit.StorageServer{ID: fields[0]}
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "zone":
				s.Locality.Zone = v
			case "fit":
				n, err := strconv.Atoi(v)
				if err != nil {
					t.Fatalf("bad fit in %q", line)
				}
				h.fit[s.ID] = recruit.Fit(n)
			case "excluded":
				s.Excluded = true
			case "maintenance":
				h.maint[s.ID] = true
			default:
				t.Fatalf("bad server field %q in %q", f, line)
			}
		}
		h.servers = append(h.servers, s)
	}
}

func (h *ddHarness) parseShards(t *testing.T, input string) {
	h.shards = nil
	for _, line := range strings.Split(strings.TrimSpace(input), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			t.Fatalf("bad shard line %q", line)
		}
		s := shardLoad{begin: []byte{}, bytes: -1}
		if fields[0] != "-" {
			s.begin = []byte(fields[0])
		}
		if fields[1] != "?" {
			n, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil {
				t.Fatalf("bad bytes in %q", line)
			}
			s.bytes = n
		}
		for _, f := range fields[2:] {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "servers":
				s.servers = strings.Split(v, ",")
			case "dest":
				s.dest = strings.Split(v, ",")
			case "split":
				s.splitKey = []byte(v)
			default:
				t.Fatalf("bad shard field %q in %q", f, line)
			}
		}
		if n := len(h.shards); n > 0 {
			h.shards[n-1].end = s.begin
		}
		h.shards = append(h.shards, s)
	}
	if n := len(h.shards); n > 0 {
		h.shards[n-1].end = []byte("\xff\xff")
	}
}

func TestMovingData(t *testing.T) {
	core := &wire.DBCoreState{Shards: []*wire.ShardAssignment{
		{Begin: []byte{}, Servers: []string{"a", "b"}},
		{Begin: []byte("g"), Servers: []string{"a", "b"}, Dest: []string{"b", "c"}},
		{Begin: []byte("p"), Servers: []string{"a", "b"}, Dest: []string{"a", "d"}},
	}}
	cc := &Controller{}
	cc.ddStats.bytes = map[string]int64{"": 10, "g": 300, "p": 4000}
	cc.ddStats.written = 77
	if got := cc.movingData(core); got != (status.MovingData{InQueueBytes: 4300, TotalWrittenBytes: 77, HighestPriority: priorityTeamUnhealthy}) {
		t.Fatalf("no move in flight: %+v", got)
	}
	cc.ddStats.moving = &shardMove{begin: []byte("g"), bytes: 300, balance: true}
	want := status.MovingData{InFlightBytes: 300, InQueueBytes: 4000, TotalWrittenBytes: 77, HighestPriority: priorityTeamUnhealthy}
	if got := cc.movingData(core); got != want {
		t.Fatalf("balance in flight, repair queued: %+v, want %+v", got, want)
	}
	core.Shards[2].Dest = nil
	want = status.MovingData{InFlightBytes: 300, TotalWrittenBytes: 77, HighestPriority: priorityRebalance}
	if got := cc.movingData(core); got != want {
		t.Fatalf("balance alone: %+v, want %+v", got, want)
	}
}
