package client

import (
	"fmt"
	"time"

	"github.com/strata-db/strata/db/kv"
)

// Priority is a transaction's read-version priority, as on the wire.
type Priority uint32

// Priorities.
const (
	PriorityDefault         Priority = 0
	PriorityBatch           Priority = 1
	PrioritySystemImmediate Priority = 2
)

// Options are a transaction's options (FDB's transaction options, §2.2).
// A transaction starts with its database's defaults; OnError keeps them,
// Reset restores the defaults.
type Options struct {
	// Timeout bounds the transaction from its creation (or Reset),
	// across retries; 0 disables it. Past it, operations fail with
	// transaction_timed_out.
	Timeout time.Duration
	// RetryLimit bounds how many times OnError lets the transaction retry;
	// -1 means no limit.
	RetryLimit int
	// MaxRetryDelay caps the backoff between retries (default 1 s).
	MaxRetryDelay time.Duration
	// SizeLimit bounds the transaction's size in bytes (32 to 10,000,000).
	SizeLimit int
	// Priority is the read version priority.
	Priority Priority
	// AccessSystemKeys allows reading and writing keys under \xff;
	// ReadSystemKeys allows reading them only.
	AccessSystemKeys bool
	ReadSystemKeys   bool
	// LockAware lets the transaction run against a locked database.
	LockAware bool
	// ReadYourWritesDisable makes reads see only the database.
	ReadYourWritesDisable bool
	// SnapshotRYWDisable makes snapshot reads ignore the transaction's
	// own writes.
	SnapshotRYWDisable bool
	// NextWriteNoWriteConflictRange makes the next write add no write
	// conflict range; it clears itself after that write.
	NextWriteNoWriteConflictRange bool
	// CausalWriteRisky skips what makes commit_unknown_result safe to
	// retry on: the commit is not made self-conflicting, and after an
	// unknown result no conflicting transaction is committed to settle
	// it, so the commit may still take effect after the error (FDB's
	// causal_write_risky).
	CausalWriteRisky bool
}

// DefaultOptions are FDB's defaults.
func DefaultOptions() Options {
	return Options{RetryLimit: -1, MaxRetryDelay: time.Second, SizeLimit: kv.MaxTransactionSize}
}

// TransactionOptions sets a transaction's options one at a time, checking
// each value as FDB does.
type TransactionOptions struct{ tr *Transaction }

// SetTimeout sets the timeout, counted from the transaction's creation;
// 0 disables it.
func (o TransactionOptions) SetTimeout(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("timeout %v: %w", d, kv.ErrInvalidOptionValue)
	}
	o.tr.opts.Timeout = d
	o.tr.armTimeout()
	return nil
}

// SetRetryLimit sets the retry limit; -1 removes it.
func (o TransactionOptions) SetRetryLimit(n int) error {
	if n < -1 {
		return fmt.Errorf("retry limit %d: %w", n, kv.ErrInvalidOptionValue)
	}
	o.tr.opts.RetryLimit = n
	return nil
}

// SetMaxRetryDelay caps the retry backoff.
func (o TransactionOptions) SetMaxRetryDelay(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("max retry delay %v: %w", d, kv.ErrInvalidOptionValue)
	}
	o.tr.opts.MaxRetryDelay = d
	return nil
}

// SetSizeLimit sets the transaction size limit in bytes.
func (o TransactionOptions) SetSizeLimit(n int) error {
	if n < 32 || n > kv.MaxTransactionSize {
		return fmt.Errorf("size limit %d not in [32, %d]: %w", n, kv.MaxTransactionSize, kv.ErrInvalidOptionValue)
	}
	o.tr.opts.SizeLimit = n
	return nil
}

// SetPriorityBatch gives the transaction batch priority.
func (o TransactionOptions) SetPriorityBatch() { o.tr.opts.Priority = PriorityBatch }

// SetPrioritySystemImmediate gives the transaction the highest priority.
func (o TransactionOptions) SetPrioritySystemImmediate() {
	o.tr.opts.Priority = PrioritySystemImmediate
}

// SetAccessSystemKeys allows reading and writing keys under \xff.
func (o TransactionOptions) SetAccessSystemKeys() { o.tr.opts.AccessSystemKeys = true }

// SetReadSystemKeys allows reading keys under \xff.
func (o TransactionOptions) SetReadSystemKeys() { o.tr.opts.ReadSystemKeys = true }

// SetLockAware lets the transaction run against a locked database.
func (o TransactionOptions) SetLockAware() { o.tr.opts.LockAware = true }

// SetReadYourWritesDisable makes reads ignore the transaction's writes. It
// must be set before any read or write.
func (o TransactionOptions) SetReadYourWritesDisable() error {
	if o.tr.touched {
		return fmt.Errorf("read_your_writes_disable after reads or writes: %w", kv.ErrInvalidOptionValue)
	}
	o.tr.opts.ReadYourWritesDisable = true
	return nil
}

// SetSnapshotRYWDisable makes snapshot reads ignore the transaction's
// writes; SetSnapshotRYWEnable restores the default.
func (o TransactionOptions) SetSnapshotRYWDisable() { o.tr.opts.SnapshotRYWDisable = true }

// SetSnapshotRYWEnable makes snapshot reads see the transaction's writes.
func (o TransactionOptions) SetSnapshotRYWEnable() { o.tr.opts.SnapshotRYWDisable = false }

// SetNextWriteNoWriteConflictRange makes the next write add no write
// conflict range.
func (o TransactionOptions) SetNextWriteNoWriteConflictRange() {
	o.tr.opts.NextWriteNoWriteConflictRange = true
}

// SetCausalWriteRisky sets Options.CausalWriteRisky.
func (o TransactionOptions) SetCausalWriteRisky() { o.tr.opts.CausalWriteRisky = true }

// StreamingMode is a range read's batching policy. The zero value is
// FDB's default, iterator; Code gives FDB's option code.
type StreamingMode int

// Streaming modes.
const (
	ModeIterator StreamingMode = iota
	ModeWantAll
	ModeExact
	ModeSmall
	ModeMedium
	ModeLarge
	ModeSerial
)

// Code returns the mode's code in FDB's fdb.options.
func (m StreamingMode) Code() int {
	return [...]int{-1, -2, 0, 1, 2, 3, 4}[m]
}

// batchBytes is the byte target of one storage request in a mode
// (bindings/c mode_bytes_array; iterator mode grows with the iteration).
func (m StreamingMode) batchBytes(iteration int) int {
	switch m {
	case ModeExact:
		return 0
	case ModeSmall:
		return 256
	case ModeMedium:
		return 1000
	case ModeLarge:
		return 4096
	case ModeIterator:
		steps := []int{4096, 6144, 9216, 13824, 20736, 31104, 46656, 69984, 80000, 120000}
		return steps[min(iteration, len(steps)-1)]
	default:
		return 120000
	}
}

// RangeOptions shape a range read. Limit 0 means no row limit.
type RangeOptions struct {
	Limit   int
	Reverse bool
	Mode    StreamingMode
}
