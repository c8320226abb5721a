package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestSmoke(t *testing.T) {
	files, _ := filepath.Glob("../../configs/*.hcl")
	for _, f := range files {
		s, src, diags := Load(f, Options{})
		WriteDiagnostics(os.Stdout, src, diags, 100, false)
		if s != nil {
			fmt.Printf("%s: %+v\n", f, s.Hosts[0])
		}
	}
}
