package remote

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/strata-db/strata/deployer/spec"
)

const testSSHConfig = `
Host db1
  HostName 10.0.0.1
  User deploy
  Port 2222
  IdentityFile ~/.ssh/%r@%h

Host db2
  ProxyJump ops@jump1:2200,jump2

Host jump2
  HostName 192.0.2.9
  User jumper

Host *
  User fallback
`

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	if err := os.WriteFile(cfgFile, []byte(testSSHConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadSSHConfig([]string{cfgFile, filepath.Join(dir, "absent")}, "/home/me", "me")
	if err != nil {
		t.Fatal(err)
	}
	host := func(addr, user string, port int, bastions ...spec.Bastion) *spec.Host {
		return &spec.Host{Name: addr, Address: addr, SSH: spec.SSH{User: user, Port: port, Bastions: bastions}}
	}
	tests := []struct {
		name string
		host *spec.Host
		want route
	}{
		{
			name: "ssh config fills what the spec leaves at its default",
			host: host("db1", "", 22),
			want: route{Target: endpoint{Address: "10.0.0.1:2222", User: "deploy", IdentityFiles: []string{"/home/me/.ssh/deploy@10.0.0.1"}}},
		},
		{
			name: "the spec's user and port win",
			host: host("db1", "root", 2022),
			want: route{Target: endpoint{Address: "10.0.0.1:2022", User: "root", IdentityFiles: []string{"/home/me/.ssh/root@10.0.0.1"}}},
		},
		{
			name: "ProxyJump chain, each hop resolved",
			host: host("db2", "", 22),
			want: route{
				Jumps: []endpoint{
					{Address: "jump1:2200", User: "ops"},
					{Address: "192.0.2.9:22", User: "jumper"},
				},
				Target: endpoint{Address: "db2:22", User: "fallback"},
			},
		},
		{
			name: "the spec's bastions replace ProxyJump",
			host: host("db2", "root", 22, spec.Bastion{Address: "bastion.example", Port: 22}),
			want: route{
				Jumps:  []endpoint{{Address: "bastion.example:22", User: "fallback"}},
				Target: endpoint{Address: "db2:22", User: "root"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cfg.resolve(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("route (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResolveLocalUserDefault(t *testing.T) {
	cfg, err := loadSSHConfig(nil, "/home/me", "me")
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.resolve(&spec.Host{Name: "h", Address: "10.1.1.1", SSH: spec.SSH{Port: 22}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(route{Target: endpoint{Address: "10.1.1.1:22", User: "me"}}, got); diff != "" {
		t.Errorf("route (-want +got):\n%s", diff)
	}
}

func TestResolveBadProxyJump(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	os.WriteFile(cfgFile, []byte("Host x\n  ProxyJump jump:notaport\n"), 0o600)
	cfg, err := loadSSHConfig([]string{cfgFile}, "/home/me", "me")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.resolve(&spec.Host{Name: "x", Address: "x", SSH: spec.SSH{Port: 22}}); err == nil {
		t.Error("a ProxyJump with a bad port resolved")
	}
}
