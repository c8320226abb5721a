package layout_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/hashicorp/hcl/v2"

	"github.com/strata-db/strata/deployer/layout"
	"github.com/strata-db/strata/deployer/spec"
)

// TestLayout runs testdata/*.txt. Each case is
//
//	layout [redundancy=MODE]
//	<HCL description>
//	----
//	<rendered layout and diagnostics>
//
// When the description has no cluster block, one with the given redundancy
// (default single) and a local_binary release are appended after it, so
// line numbers in diagnostics are those of the case text.
func TestLayout(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "layout":
				return runLayout(t, d)
			default:
				t.Fatalf("%s: unknown command %q", d.Pos, d.Cmd)
				return ""
			}
		})
	})
}

func runLayout(t *testing.T, d *datadriven.TestData) string {
	src := d.Input + "\n"
	if !strings.Contains(src, "cluster \"") {
		mode := "single"
		if d.HasArg("redundancy") {
			d.ScanArgs(t, "redundancy", &mode)
		}
		src += fmt.Sprintf("cluster \"test\" {\n  redundancy = %q\n}\nrelease \"1\" {\n  source = \"local_binary\"\n}\n", mode)
	}
	s, _, diags := spec.LoadSource("test.hcl", []byte(src), spec.Options{})
	var b strings.Builder
	if s != nil {
		l, more := layout.Compute(s)
		diags = append(diags, more...)
		if !more.HasErrors() {
			render(&b, l)
		}
	}
	for _, diag := range diags {
		fmt.Fprintln(&b, formatDiag(diag))
	}
	return b.String()
}

func render(b *strings.Builder, l *layout.Layout) {
	fmt.Fprintf(b, "coordinators: %s\n", strings.Join(l.Coordinators, " "))
	for _, h := range l.Hosts {
		loc := "zone=" + h.Locality.Zone
		if h.Locality.DataHall != "" {
			loc += " hall=" + h.Locality.DataHall
		}
		if h.Locality.DC != "" {
			loc += " dc=" + h.Locality.DC
		}
		fmt.Fprintf(b, "%s %s %s %s\n", h.Name, h.Address, h.Transport, loc)
		for _, p := range h.Processes {
			mark := ""
			if p.Coordinator {
				mark = " coordinator"
			}
			fmt.Fprintf(b, "  %s %s.%d http=%d data=%s%s\n", p.ID, p.Class, p.Index, p.HTTPPort, p.DataDir, mark)
		}
	}
}

// formatDiag prints a diagnostic on one line with its range, so the cases
// pin every position exactly.
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
