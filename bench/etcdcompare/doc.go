// Package etcdcompare puts Strata and etcd under the same write
// generator: BenchmarkOneKeyWrites runs three `strata server` processes in
// three zones configured double (ssd engine, fsync on) and three etcd
// members, all on loopback, then drives each for the same time with many
// concurrent writers, each writing one random key per request (a Strata
// transaction with one Set, an etcd Put through its JSON gateway), and
// reports both write rates and their ratio. It needs the etcd binary
// (apt-get install etcd-server) and is only a benchmark, so `go test ./...`
// does not run it:
//
//	go test ./bench/etcdcompare -run '^$' -bench OneKeyWrites -benchtime 1x -v
package etcdcompare
