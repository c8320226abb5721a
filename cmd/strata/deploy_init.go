package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// starterDescription is what `strata init` writes: a cluster on this
// machine that `strata apply` can bring up as it stands.
const starterDescription = `# A Strata cluster description. Check it with:  strata validate %[1]s
# Preview the changes with:  strata plan %[1]s      Apply them with:  strata apply %[1]s
#
# This starter runs two "hosts" on this machine with the local transport (no
# SSH). For real machines, set address = "10.0.0.1" (and remove transport) in
# each host block, and fill in the ssh block.

variable "root" {
  type        = string
  default     = "/tmp/strata-%[2]s"
  description = "Directory that holds every file of this local cluster."
}

cluster "%[2]s" {
  redundancy     = "single"
  storage_engine = "ssd"
}

# The strata binary that runs the deployer is the one installed. For real
# machines: source = "file", path = "./strata", sha256 = "...".
release "dev" {
  source = "local_binary"
}

ssh {
  # user        = "deploy"
  # known_hosts = "~/.ssh/known_hosts"
  # sudo        = true
}

paths {
  install = "${var.root}/opt"
  conf    = "${var.root}/etc"
  data    = "${var.root}/data"
  log     = "${var.root}/log"
}

defaults {
  memory    = "1GiB"
  port_base = 4500
  processes = { storage = 1, stateless = 1 }
}

host "local1" {
  transport = "local"
  overrides {
    paths {
      conf = "${var.root}/local1/etc"
      data = "${var.root}/local1/data"
      log  = "${var.root}/local1/log"
    }
  }
}

host "local2" {
  transport = "local"
  overrides {
    port_base = 4510
    paths {
      conf = "${var.root}/local2/etc"
      data = "${var.root}/local2/data"
      log  = "${var.root}/local2/log"
    }
  }
}
`

func newInitCommand() *cobra.Command {
	return goFlagCommand("init [-name NAME] [FILE]", "Write a starter cluster description",
		"Writes a starter description (default cluster.hcl) of a small cluster on this machine; it never overwrites a file.",
		func(fs *flag.FlagSet) func(*cobra.Command, []string) error {
			name := fs.String("name", "dev", "the cluster's name (letters, digits, _)")
			return func(cmd *cobra.Command, args []string) error {
				if len(args) > 1 {
					return errors.New("init takes at most one FILE")
				}
				file := "cluster.hcl"
				if len(args) == 1 {
					file = args[0]
				}
				if render := renderDescriptionName(*name); render != *name {
					return fmt.Errorf("-name %q: only letters, digits and _ may appear", *name)
				}
				f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
				if errors.Is(err, os.ErrExist) {
					return fmt.Errorf("%s already exists; init never overwrites a file", file)
				} else if err != nil {
					return err
				}
				_, werr := fmt.Fprintf(f, starterDescription, file, *name)
				if err := errors.Join(werr, f.Close()); err != nil {
					return fmt.Errorf("writing %s: %w", file, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Wrote %s. Next: strata plan %s\n", file, file)
				return nil
			}
		})
}

func renderDescriptionName(name string) string {
	if name == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, name)
}
