// Package etcdcompare puts Strata and etcd under the same write
// generator: BenchmarkOneKeyWrites runs three `strata server` processes in
// three zones configured double (ssd engine, fsync on) and three etcd
// members, all on loopback, then drives each for the same time with
// concurrent writers, each writing one random key per request (a Strata
// transaction with one Set, an etcd Put through its JSON gateway), at 128,
// 512, 1,024, 2,048 and 4,096 writers, and reports the write rates and their
// ratio at each level and between the two systems' peaks (the write
// throughput each can sustain: etcd levels off near 5,500/s from 512
// writers on, the figure the issue quotes). It needs the etcd binary
// (apt-get install etcd-server) and is only a benchmark, so `go test ./...`
// does not run it:
//
//	go test ./bench/etcdcompare -run '^$' -bench OneKeyWrites -benchtime 1x -v
package etcdcompare
