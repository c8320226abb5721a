// Package state keeps what the deployer knows about a cluster between runs,
// in the manner of Terraform's state: a JSON document with a format version,
// a lineage (which cluster's history it belongs to) and a serial (which
// point in that history), listing each managed resource and its attributes.
//
// It also provides the two guards around an apply: a lock file so that two
// operators cannot change one cluster at once (with force-unlock for a lock
// left by a crashed run), and a journal, an append-only file of JSON lines
// fsync'd per entry, recording each step as it starts and finishes so that
// an interrupted apply can be understood and resumed.
//
// FileDigest hashes the release binary, remembering the digest in a cache
// directory while the file's stamp (inode, size, mtime, ctime) is unchanged.
//
// Every file is written with mode 0600 and replaced atomically (temporary
// file, fsync, rename, directory fsync). State holds digests and versions,
// never secrets.
package state
