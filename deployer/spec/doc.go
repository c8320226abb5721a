// Package spec turns an HCL cluster description into a typed, validated
// ClusterSpec.
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
//     `local.*` and the functions of Functions (the cty standard library,
//     try/can, cidrhost and file()).
//
// Repetition uses HCL's `dynamic` blocks (package hcl/ext/dynblock), so a
// list or map of machines becomes host blocks whose labels come from the
// data:
//
//	dynamic "host" {
//	  for_each = var.machines          # map: name => address
//	  labels   = [host.key]
//	  content {
//	    address = host.value
//	  }
//	}
//
// Every problem a user can cause is reported as an hcl.Diagnostic with the
// source range of the attribute or block at fault: unknown attributes and
// blocks, type errors, failed variable validations and the semantic checks
// of validate.go (redundancy mode, storage engine, counts, ports, duplicate
// host names, release sources, sha256 digests). Placement problems that need
// the whole cluster (zones, port clashes, shared addresses) are the business
// of package layout.
//
// WriteDiagnostics and WriteDiagnosticsJSON render diagnostics for people and
// for programs; Format is the `strata fmt` canonical formatter.
package spec
