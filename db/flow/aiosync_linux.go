package flow

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// Linux native AIO (io_setup(2), io_submit(2)): an IOCB_CMD_FDSYNC request
// is run by a kernel worker, and its completion bumps an eventfd.
const (
	iocbCmdFdsync = 3
	iocbFlagResfd = 1 << 0
	aioQueueDepth = 64
)

// iocb is the kernel's struct iocb (64 bytes on every Linux ABI; aio_key and
// aio_rw_flags swap places on big-endian machines, and both are zero here).
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   int32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

// ioEvent is the kernel's struct io_event.
type ioEvent struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

// aioSyncer runs fdatasync through Linux AIO so that a sync in flight holds
// neither an OS thread nor, more to the point, the process's P: a goroutine
// blocked in fdatasync keeps its P until the Go scheduler's monitor takes it
// back, and with GOMAXPROCS=1 (a server's default) nothing else, not even
// the network poller, runs meanwhile. Here the sync's completion arrives on
// an eventfd the network poller watches, like a socket's readiness.
type aioSyncer struct {
	ctx    uintptr  // aio_context_t
	efd    *os.File // completions; read by the reaper goroutine
	efdNum uintptr  // efd's descriptor (efd.Fd() would make it blocking)

	mu      sync.Mutex
	next    uint64
	pending map[uint64]*aioRequest
	closed  bool
	done    chan struct{} // the reaper has exited
}

type aioRequest struct {
	cb   iocb // on the heap, where the kernel reads it during io_submit
	done func(error)
}

// newAsyncSyncer sets up an AIO context and its eventfd, or returns an
// error when the kernel does not offer them (then syncs block a thread).
func newAsyncSyncer() (asyncSyncer, error) {
	var ctx uintptr
	if _, _, errno := syscall.Syscall(syscall.SYS_IO_SETUP, aioQueueDepth, uintptr(unsafe.Pointer(&ctx)), 0); errno != 0 {
		return nil, fmt.Errorf("flow: io_setup: %w", errno)
	}
	fd, _, errno := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errno != 0 {
		syscall.Syscall(syscall.SYS_IO_DESTROY, ctx, 0, 0)
		return nil, fmt.Errorf("flow: eventfd: %w", errno)
	}
	s := &aioSyncer{
		ctx:     ctx,
		efd:     os.NewFile(fd, "aio-eventfd"), // non-blocking: the poller watches it
		efdNum:  fd,
		pending: map[uint64]*aioRequest{},
		done:    make(chan struct{}),
	}
	go s.reap()
	return s, nil
}

// datasync starts fdatasync of fd and calls done with its result from the
// reaper goroutine. An error from datasync itself means the request was not
// started (done is not called): the caller may fall back to a blocking sync.
func (s *aioSyncer) datasync(fd uintptr, done func(error)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errSyncerClosed
	}
	s.next++
	id := s.next
	r := &aioRequest{done: done}
	r.cb = iocb{data: id, opcode: iocbCmdFdsync, fildes: uint32(fd), flags: iocbFlagResfd, resfd: uint32(s.efdNum)}
	s.pending[id] = r
	s.mu.Unlock()

	list := [1]*iocb{&r.cb}
	for {
		n, _, errno := syscall.Syscall(syscall.SYS_IO_SUBMIT, s.ctx, 1, uintptr(unsafe.Pointer(&list[0])))
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n != 1 {
			s.mu.Lock()
			delete(s.pending, id)
			s.mu.Unlock()
			if errno == 0 {
				errno = syscall.EAGAIN
			}
			return fmt.Errorf("flow: io_submit: %w", errno)
		}
		return nil
	}
}

// reap waits on the eventfd in the network poller and completes every
// finished request, until the eventfd is closed.
func (s *aioSyncer) reap() {
	defer close(s.done)
	var counter [8]byte
	events := make([]ioEvent, aioQueueDepth)
	zero := syscall.Timespec{}
	for {
		if _, err := s.efd.Read(counter[:]); err != nil {
			s.failPending(errSyncerClosed)
			return
		}
		for {
			n, _, errno := syscall.Syscall6(syscall.SYS_IO_GETEVENTS, s.ctx, 0, uintptr(len(events)),
				uintptr(unsafe.Pointer(&events[0])), uintptr(unsafe.Pointer(&zero)), 0)
			if errno == syscall.EINTR {
				continue
			}
			if errno != 0 || n == 0 {
				break
			}
			for _, ev := range events[:n] {
				s.complete(ev)
			}
			if int(n) < len(events) {
				break
			}
		}
	}
}

func (s *aioSyncer) complete(ev ioEvent) {
	s.mu.Lock()
	r := s.pending[ev.data]
	delete(s.pending, ev.data)
	s.mu.Unlock()
	if r == nil {
		return
	}
	var err error
	if ev.res < 0 {
		err = fmt.Errorf("flow: fdatasync: %w", syscall.Errno(-ev.res))
	}
	r.done(err)
}

func (s *aioSyncer) failPending(err error) {
	s.mu.Lock()
	rs := make([]*aioRequest, 0, len(s.pending))
	for id, r := range s.pending {
		rs = append(rs, r)
		delete(s.pending, id)
	}
	s.mu.Unlock()
	for _, r := range rs {
		r.done(err)
	}
}

// close waits for the syncs in flight (io_destroy does), fails any left
// unreaped, and releases the context and the eventfd.
func (s *aioSyncer) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	_, _, errno := syscall.Syscall(syscall.SYS_IO_DESTROY, s.ctx, 0, 0)
	// Wake the reaper once more for what completed before io_destroy, then
	// make its next read fail.
	err := s.efd.Close()
	<-s.done
	return errors.Join(errnoErr("io_destroy", errno), err)
}

func errnoErr(op string, errno syscall.Errno) error {
	if errno == 0 {
		return nil
	}
	return fmt.Errorf("flow: %s: %w", op, errno)
}
