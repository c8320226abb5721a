//go:build !linux

package flow

import "errors"

// newAsyncSyncer reports that this platform has no asynchronous fdatasync:
// syncs block a thread (Ctx.Blocking).
func newAsyncSyncer() (asyncSyncer, error) {
	return nil, errors.New("flow: asynchronous fdatasync is only implemented on Linux")
}
