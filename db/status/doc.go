// Package status holds the types of Strata's status document, the JSON
// document the cluster controller builds and every tool reads (`strata
// status --json`, `strata dash`, the deployer's health gates, the special key
// \xff\xff/status/json).
//
// The document is modelled on FoundationDB's `status json`: every field that
// has a FoundationDB counterpart carries FoundationDB's JSON name and meaning,
// so operators' scripts and habits carry over. The few fields Strata adds are
// marked "Strata extension" where they are declared. As in FoundationDB,
// fields may be added over time but never change meaning, and readers ignore
// fields they do not know.
//
// This package holds the types and Parse only; the builder lives with the
// cluster controller.
package status
