// Package resolvertest holds the resolver's simulation test, exported so
// that `strata sim` can run it by name: two commit proxies send a chain of
// batches to a resolver interleaved, out of order and partly twice, over a
// clogging network, and every reply is checked against a brute-force
// model of conflict detection.
package resolvertest
