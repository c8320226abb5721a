// Package clusterfile reads, writes and locates Strata's cluster file, which
// names a cluster and its coordinators with FoundationDB's syntax (fdb.md
// §5.2):
//
//	description:ID@host:port,host:port,...
//
// Parsing follows FoundationDB's rules: '#' starts a comment that runs to the
// end of its line; all other whitespace anywhere is ignored; the key before
// '@' holds exactly one ':'; the description is [a-zA-Z0-9_]+ and the ID
// [a-zA-Z0-9]+; every coordinator is host:port with IPv6 addresses in
// brackets ([::1]:4500) and hostnames allowed (FDB 7.1 resolves them); the
// same coordinator may not be listed twice. Strata is stricter than FDB in
// three documented places: an empty description or ID is refused, port 0 is
// refused, and so is the ":tls" suffix — Strata has no TLS transport, and
// silently talking plaintext to coordinators the operator marked TLS would
// be worse than refusing the file.
//
// Lookup implements the search order of `-C`, STRATA_CLUSTER_FILE,
// ./strata.cluster and DefaultPath. WriteAtomic rewrites a file the way
// coordinator changes need it: a temporary file in the same directory,
// fsync, rename over the old one, fsync of the directory, keeping the old
// file's permission bits, so a reader sees the old or the new file whole and
// a crash leaves one of them.
//
// This package reads the real file system; role code gets the connection
// string from its caller and uses only Parse and Format.
package clusterfile
