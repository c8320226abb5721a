package spec_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/hashicorp/hcl/v2"

	"github.com/strata-db/strata/deployer/spec"
)

// TestDecode runs testdata/*.txt. Each case is
//
//	decode [var=name=value ...]
//	<HCL description>
//	----
//	<rendered spec, or diagnostics with their exact ranges>
//
// Cases whose input has no cluster, release or host block get a minimal one
// appended after the input (keeping its line numbers), so each case shows
// only what it is about; "# bare" in the input turns this off.
func TestDecode(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "decode" {
				t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
			}
			opts := spec.Options{BaseDir: "/cfg"}
			for _, arg := range d.CmdArgs {
				if arg.Key == "var" {
					opts.Vars = append(opts.Vars, arg.Vals...)
				}
			}
			src := d.Input + "\n"
			bare := strings.Contains(src, "# bare")
			if !strings.Contains(src, "cluster \"") && !bare {
				src += "cluster \"t\" {\n  redundancy = \"single\"\n}\n"
			}
			if !strings.Contains(src, "release \"") && !bare {
				src += "release \"1\" {\n  source = \"local_binary\"\n}\n"
			}
			if !strings.Contains(src, "host") && !strings.Contains(src, "# bare") {
				src += "host \"h\" {\n  address   = \"10.0.0.1\"\n  processes = { storage = 1 }\n}\n"
			}
			s, _, diags := spec.LoadSource("test.hcl", []byte(src), opts)
			var b strings.Builder
			if s != nil && !diags.HasErrors() {
				renderSpec(&b, s)
			}
			for _, diag := range diags {
				fmt.Fprintln(&b, formatDiag(diag))
			}
			return b.String()
		})
	})
}

func renderSpec(b *strings.Builder, s *spec.ClusterSpec) {
	c := s.Cluster
	coords := "auto"
	if c.Coordinators != nil {
		coords = strings.Join(c.Coordinators, ",")
	}
	fmt.Fprintf(b, "cluster %s %q redundancy=%s engine=%s version=%s coordinators=%s commit_proxies=%d grv_proxies=%d resolvers=%d logs=%d\n",
		c.Name, c.Description, c.Redundancy, c.StorageEngine, c.Version, coords, c.CommitProxies, c.GRVProxies, c.Resolvers, c.Logs)
	for _, r := range s.Releases {
		fmt.Fprintf(b, "release %s source=%s path=%q url=%q sha256=%q\n", r.Version, r.Source, r.Path, r.URL, r.SHA256)
	}
	for _, h := range s.Hosts {
		var procs []string
		for _, p := range h.Processes {
			procs = append(procs, fmt.Sprintf("%s:%d", p.Class, p.Count))
		}
		fmt.Fprintf(b, "host %s %s %s zone=%s hall=%s dc=%s machine=%s processes=%s\n",
			h.Name, h.Transport, h.Address, h.Locality.Zone, h.Locality.DataHall, h.Locality.DC, h.Locality.Machine, strings.Join(procs, ","))
		fmt.Fprintf(b, "  ssh user=%q port=%d keys=%v agent=%t known_hosts=%s sudo=%t bastions=%v\n",
			h.SSH.User, h.SSH.Port, h.SSH.PrivateKeyFiles, h.SSH.Agent, h.SSH.KnownHosts, h.SSH.Sudo, h.SSH.Bastions)
		fmt.Fprintf(b, "  paths install=%s conf=%s data=%s log=%s\n", h.Paths.Install, h.Paths.Conf, h.Paths.Data, h.Paths.Log)
		fmt.Fprintf(b, "  process memory=%d port_base=%d http_port_offset=%d\n", h.Process.Memory, h.Process.PortBase, h.Process.HTTPPortOffset)
	}
}

func formatDiag(d *hcl.Diagnostic) string {
	sev := "error"
	if d.Severity == hcl.DiagWarning {
		sev = "warning"
	}
	at := ""
	if d.Subject != nil {
		at = " at " + d.Subject.String()
	}
	return fmt.Sprintf("%s%s: %s: %s", sev, at, d.Summary, d.Detail)
}
