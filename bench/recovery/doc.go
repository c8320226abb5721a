// Package recovery measures how long a real cluster stops committing when
// its sequencer's process dies: BenchmarkSequencerKill runs five `strata
// server` processes in five zones configured triple, keeps a light write
// load on them through the Go client, and kill -9s the process that holds
// the sequencer (status role "master") once per iteration, timing the gap
// from the kill to the first acknowledged commit that started after it.
// It has only a benchmark (no test), so `go test ./...` does not run it:
//
//	go test ./bench/recovery -run '^$' -bench SequencerKill -benchtime 20x -v
//
// It reports the median, 90th percentile and worst gap (p50-ms, p90-ms,
// max-ms; ns/op is the mean gap). FoundationDB's production figures for
// the same gap are 3.1 s median and 5.3 s at the 90th percentile.
package recovery
