// Package bench is the load generator behind `strata bench`: it loads a key
// space into a database, drives FoundationDB's benchmark workloads (90/10
// read/write transactions, one-key write transactions, point reads, range
// reads, the cycle) from many flow actors on one or more client
// processes, and reports operations per second with GRV, read and commit
// latencies measured separately. It can also start a throwaway `strata
// server` to measure, read the server's resident memory, and measure raw
// Pebble's synced-write ceiling on the same machine in the same run, so
// the database's figures are read against what the disk allows.
package bench
