package kv

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConfigurationRoundTrip(t *testing.T) {
	c := Configuration{RedundancyMode: "double", StorageEngine: "ssd", CommitProxies: 3, GRVProxies: 1, Resolvers: 2, Logs: 4}
	rows := c.Encode()
	for i := 1; i < len(rows); i++ {
		if bytes.Compare(rows[i-1].Key, rows[i].Key) >= 0 {
			t.Errorf("Encode not in key order: %s before %s", Printable(rows[i-1].Key), Printable(rows[i].Key))
		}
	}
	// Keys of the deployer (deployer/apply) and of cmd/strata's server.
	want := map[string]string{
		"\xff/conf/redundancy_mode": "double", "\xff/conf/storage_engine": "ssd", "\xff/conf/commit_proxies": "3",
		"\xff/conf/grv_proxies": "1", "\xff/conf/resolvers": "2", "\xff/conf/logs": "4",
	}
	got := map[string]string{}
	for _, r := range rows {
		got[string(r.Key)] = string(r.Value)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
	// Exclusions and unknown names under \xff/conf/ are skipped.
	rows = append(rows, KeyValue{Key: ExclusionKey(Exclusion{Host: "10.0.0.1", Port: 4500}, false)},
		KeyValue{Key: ConfKey("perpetual_storage_wiggle"), Value: []byte("1")})
	back, err := DecodeConfiguration(rows)
	if err != nil || back != c {
		t.Errorf("DecodeConfiguration = %+v, %v; want %+v", back, err, c)
	}
	if _, err := DecodeConfiguration([]KeyValue{{Key: ConfKey(ConfLogs), Value: []byte("many")}}); err == nil {
		t.Error("a count that is not a number decoded")
	}
	if (Configuration{}).Configured() || !c.Configured() {
		t.Error("Configured is not whether a redundancy mode is set")
	}
	for _, bad := range []Configuration{{RedundancyMode: "quadruple"}, {StorageEngine: "rocks"}, {Logs: -1}, {Resolvers: MaxRoleCount + 1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v validated", bad)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestParseExclusion(t *testing.T) {
	for in, want := range map[string]Exclusion{
		"10.0.0.1:4500":         {Host: "10.0.0.1", Port: 4500},
		"10.0.0.1":              {Host: "10.0.0.1"},
		"[::1]:4500":            {Host: "::1", Port: 4500},
		"::1":                   {Host: "::1"},
		"Db1.example:4500":      {Host: "db1.example", Port: 4500},
		"locality_zoneid:z1":    {LocalityKey: "zoneid", LocalityValue: "z1"},
		"locality_data_hall:h:": {LocalityKey: "data_hall", LocalityValue: "h:"},
	} {
		got, err := ParseExclusion(in)
		if err != nil || got != want {
			t.Errorf("ParseExclusion(%q) = %+v, %v; want %+v", in, got, err, want)
			continue
		}
		back, err := ParseExclusion(got.String())
		if err != nil || back != got {
			t.Errorf("%q: String %q parses to %+v, %v", in, got.String(), back, err)
		}
		key := ExclusionKey(got, true)
		if e, failed, err := DecodeExclusionKey(key); err != nil || !failed || e != got {
			t.Errorf("%q: key %s decodes to %+v, %v, %v", in, Printable(key), e, failed, err)
		}
	}
	for _, bad := range []string{"", "10.0.0.1:", "10.0.0.1:0", "10.0.0.1:99999", "999.0.0.1", "locality_rack:r",
		"locality_zoneid:", "locality_zoneid", "host", "10.0.0.1:4500:tls", "a b:1"} {
		if e, err := ParseExclusion(bad); err == nil {
			t.Errorf("ParseExclusion(%q) = %+v, want an error", bad, e)
		}
	}
	if !bytes.Equal(ExclusionKey(Exclusion{Host: "10.0.0.1", Port: 4500}, false), []byte("\xff/conf/excluded/10.0.0.1:4500")) {
		t.Error("exclusion key is not \\xff/conf/excluded/<addr>")
	}
}

func TestExclusionMatches(t *testing.T) {
	loc := map[string]string{"zoneid": "z1", "machineid": "m1"}
	for _, c := range []struct {
		excl string
		addr string
		want bool
	}{
		{"10.0.0.1:4500", "10.0.0.1:4500", true},
		{"10.0.0.1:4500", "10.0.0.1:4501", false},
		{"10.0.0.1", "10.0.0.1:4501", true},
		{"10.0.0.1", "10.0.0.2:4500", false},
		{"[::1]:4500", "[0::1]:4500", true},
		{"locality_zoneid:z1", "10.0.0.9:1", true},
		{"locality_zoneid:z2", "10.0.0.9:1", false},
		{"locality_dcid:d1", "10.0.0.9:1", false},
	} {
		e, err := ParseExclusion(c.excl)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Matches(c.addr, loc); got != c.want {
			t.Errorf("%s matches %s: %v, want %v", c.excl, c.addr, got, c.want)
		}
	}
}

func TestHealthyZoneAndLock(t *testing.T) {
	z := HealthyZone{Zone: "z\x001", Until: 123_456_789}
	v := EncodeHealthyZone(z)
	if !bytes.Equal(v[:8], []byte{0, 0, 0, 0, 7, 0x5b, 0xcd, 0x15}) {
		t.Errorf("expiry is not 8 bytes big-endian: %x", v)
	}
	if back, err := DecodeHealthyZone(v); err != nil || back != z {
		t.Errorf("DecodeHealthyZone = %+v, %v", back, err)
	}
	if _, err := DecodeHealthyZone([]byte{1, 2}); err == nil {
		t.Error("a short healthyZone value decoded")
	}
	u := LockUID{0: 0xab, 15: 0x01}
	s := u.String()
	if s != "ab000000000000000000000000000001" {
		t.Errorf("UID prints as %q", s)
	}
	if back, err := ParseLockUID(s); err != nil || back != u {
		t.Errorf("ParseLockUID(%q) = %v, %v", s, back, err)
	}
	if back, err := DecodeLockUID(u[:]); err != nil || back != u {
		t.Errorf("DecodeLockUID = %v, %v", back, err)
	}
	for _, bad := range []string{"", "ab", s + "0", "zz000000000000000000000000000001"} {
		if _, err := ParseLockUID(bad); err == nil {
			t.Errorf("ParseLockUID(%q) succeeded", bad)
		}
	}
	if _, err := DecodeLockUID([]byte("short")); err == nil {
		t.Error("a short lock value decoded")
	}
}
