// Package tui is `strata dash`, the terminal dashboard: a live view of the
// status document (db/status) with an overview, workload sparklines and
// latencies, a process table, data distribution, and the progress of a
// running apply or playbook.
//
// It is a Bubble Tea v2 program. All I/O (fetching status, reading rollout
// events) runs in commands; Update only folds the resulting messages into
// the model, and View is a pure function of the model, so both are tested
// directly: golden files of View for recorded status documents, and Update
// tests for keys and messages.
//
// Where status comes from is the consumer-owned Source interface; a file
// source serves recorded documents (tests, `strata dash --fixture`).
package tui
