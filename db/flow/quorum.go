package flow

import "errors"

// WaitAll waits until every future is ready and returns their values in
// order, or the first error (by index) once all are ready.
func WaitAll[T any](c *Ctx, fs []Future[T]) ([]T, error) {
	out := make([]T, len(fs))
	for i, f := range fs {
		v, err := Await(c, f)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// WaitAny waits until one future succeeds and returns its index and value.
// If all fail it returns the error of the lowest-indexed one.
func WaitAny[T any](c *Ctx, fs []Future[T]) (int, T, error) {
	idx, vals, err := WaitQuorum(c, 1, fs)
	if err != nil {
		var zero T
		return -1, zero, err
	}
	return idx[0], vals[0], nil
}

// ErrQuorumUnreachable is returned by WaitQuorum when too many futures
// failed for the quorum to be reached; it wraps one of their errors.
var ErrQuorumUnreachable = errors.New("flow: quorum unreachable")

// WaitQuorum waits until n of the futures succeed and returns the indexes
// and values of the first n successes in index order among those ready. It
// fails as soon as more than len(fs)-n have failed.
func WaitQuorum[T any](c *Ctx, n int, fs []Future[T]) ([]int, []T, error) {
	if n <= 0 {
		return nil, nil, nil
	}
	ws := make([]Waitable, len(fs))
	for i, f := range fs {
		ws[i] = f
	}
	for {
		var idx []int
		var vals []T
		var firstErr error
		failed := 0
		for i, f := range fs {
			if !f.IsReady() {
				continue
			}
			if v, err := f.Get(); err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
			} else if len(idx) < n {
				idx, vals = append(idx, i), append(vals, v)
			}
		}
		if len(idx) == n {
			return idx, vals, nil
		}
		if failed > len(fs)-n {
			return nil, nil, errors.Join(ErrQuorumUnreachable, firstErr)
		}
		if err := waitAnyNew(c, ws); err != nil {
			return nil, nil, err
		}
	}
}

// WaitMajority waits for a strict majority of the futures to succeed.
func WaitMajority[T any](c *Ctx, fs []Future[T]) ([]int, []T, error) {
	return WaitQuorum(c, len(fs)/2+1, fs)
}

// waitAnyNew blocks until one of the not-yet-ready waitables becomes ready.
func waitAnyNew(c *Ctx, ws []Waitable) error {
	var pending []Waitable
	for _, w := range ws {
		if !w.ready() {
			pending = append(pending, w)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	_, err := Select(c, pending...)
	return err
}
