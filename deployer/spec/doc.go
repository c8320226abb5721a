// Package spec turns an HCL cluster description into a typed, validated
// ClusterSpec.
//
// # Reading a description
//
// A description is read in two phases, the way Terraform reads a module:
//
//  1. The `variable` blocks are collected and each gets its value, in rising
//     precedence: the declared default, then -var-file files in order, then
//     STRATA_VAR_<name> environment variables, then -var flags in order.
//     Values are converted to the declared type and checked by the
//     variable's `validation` blocks. The `locals` are then evaluated in
//     dependency order (a cycle is a diagnostic).
//  2. Everything else is decoded with an evaluation context holding `var.*`,
//     `local.*` and the functions of Functions (the cty standard library
//     under Terraform's names, try/can, cidrhost, and file(), which reads
//     relative to the description's directory).
//
// Repetition uses HCL's `dynamic` blocks (package hcl/ext/dynblock) for
// `host` and `release`, so a list or map of machines becomes host blocks
// whose labels come from the data:
//
//	dynamic "host" {
//	  for_each = var.machines          # map: name => address
//	  labels   = [host.key]
//	  content {
//	    address = host.value
//	  }
//	}
//
// # The blocks
//
// Everything not listed here is an error at its position.
//
//	variable "NAME" { type, default, description, validation { condition, error_message } }
//	locals { NAME = EXPR ... }
//	cluster "NAME" {            # exactly one; NAME: letters, digits, _
//	  redundancy     = "single" | "double" | "triple" | "three_data_hall"   (required)
//	  storage_engine = "ssd" | "memory"                                     (default "ssd")
//	  version        = "RELEASE"  # a release label; defaults to the only release
//	  coordinators   = "auto" | ["host:port" or "address:port", ...]        (default "auto")
//	  description, commit_proxies, grv_proxies, resolvers, logs             (0: database default)
//	}
//	ssh {                       # file-wide SSH settings
//	  user, port = 22, private_key_files = [], agent = true,
//	  known_hosts = "~/.ssh/known_hosts", sudo = false,
//	  bastion { address, port = 22, user } ...   # a chain, outermost first
//	}
//	paths { install = "/opt/strata", conf = "/etc/strata", data = "/var/lib/strata", log = "/var/log/strata" }
//	defaults { memory = "8GiB", port_base = 4500, http_port_offset = 1000, processes = { CLASS = N } }
//	release "VERSION" {
//	  source = "local_binary"             # the running strata binary
//	  source = "file", path, sha256?      # a binary on this machine
//	  source = "url",  url, sha256        # downloaded and checked
//	}
//	host "NAME" {
//	  address                             # required unless transport = "local" (127.0.0.1)
//	  port                                # SSH port (default ssh.port)
//	  transport = "ssh" | "local"
//	  zone = NAME, data_hall, dc, machine = NAME
//	  processes = { storage = 2, log = 1, stateless = 1 }   # default: defaults.processes
//	  overrides { memory, port_base, http_port_offset, ssh { ... }, paths { ... } }
//	}
//
// Process classes are those of ProcessClasses(). A null `processes` (say,
// from a conditional) inherits the defaults block's.
//
// # Diagnostics
//
// Every problem a user can cause is an hcl.Diagnostic with the source range
// of the attribute or block at fault: syntax, unknown attributes and blocks,
// type errors, failed variable validations, and the semantic checks of
// blocks.go (redundancy mode, storage engine, counts, ports, addresses,
// paths, duplicate hosts and releases, release sources, sha256 digests).
// Placement problems that need the whole cluster (zones, port clashes,
// shared addresses) belong to package layout.
//
// WriteDiagnostics and WriteDiagnosticsJSON render diagnostics for people and
// for programs; Format is the `strata fmt` canonical formatter.
package spec
