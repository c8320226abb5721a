package flow

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// io_uring(7): the mmap offsets and constants used here.
const (
	ioringOffSQRing  = 0
	ioringOffCQRing  = 0x8000000
	ioringOffSQEs    = 0x10000000
	ioringOpFsync    = 3
	ioringFsyncData  = 1 << 0 // IORING_FSYNC_DATASYNC
	ioringRegEventfd = 4      // IORING_REGISTER_EVENTFD

	uringEntries = 64 // submission queue entries; the completion queue has twice as many
)

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  sqRingOffsets
	cqOff                                                                  cqRingOffsets
}

// sqRingOffsets is struct io_sqring_offsets.
type sqRingOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

// cqRingOffsets is struct io_cqring_offsets.
type cqRingOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

// uringSQE is struct io_uring_sqe (64 bytes), with the fields fsync uses.
type uringSQE struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	_             [3]uint64
}

// uringCQE is struct io_uring_cqe.
type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// uringSyncer runs fdatasync through io_uring, so that a sync in flight
// holds neither a goroutine in a system call nor, more to the point, the
// process's P: a goroutine blocked in fdatasync keeps its P until the Go
// scheduler's monitor takes it back, and with GOMAXPROCS=1 (a server's
// default) nothing else runs meanwhile, not even the network poller that
// would let waiting requests in. io_uring hands the sync to one of its
// worker threads, which the kernel may run on any CPU (Linux AIO's
// IOCB_CMD_FDSYNC waits for a worker bound to the submitting CPU: with that
// CPU busy, 4 ms instead of 0.2), and signals its completion on an eventfd
// the network poller watches, like a socket's readiness.
type uringSyncer struct {
	ringFD int
	sqRing []byte // mmap'd submission ring: head, tail, mask, index array
	cqRing []byte // mmap'd completion ring: head, tail, mask, entries
	sqes   []byte // mmap'd submission entries
	params uringParams

	efd *os.File // completions; read by the reaper goroutine

	mu         sync.Mutex
	next       uint64
	pending    map[uint64]func(error)
	closed     bool
	drained    chan struct{} // closed when pending empties after close
	reaperDone chan struct{} // closed when the reaper exits
}

// newAsyncSyncer sets up an io_uring instance and its eventfd, or returns
// an error when the kernel does not offer them (io_uring disabled by
// sysctl or seccomp): then syncs block a goroutine instead.
func newAsyncSyncer() (asyncSyncer, error) {
	s := &uringSyncer{pending: map[uint64]func(error){}, reaperDone: make(chan struct{})}
	fd, _, errno := syscall.Syscall(unix.SYS_IO_URING_SETUP, uringEntries, uintptr(unsafe.Pointer(&s.params)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("flow: io_uring_setup: %w", errno)
	}
	s.ringFD = int(fd)
	if err := s.mapRings(); err != nil {
		s.release()
		return nil, err
	}
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		s.release()
		return nil, fmt.Errorf("flow: eventfd: %w", err)
	}
	efd32 := int32(efd)
	if _, _, errno := syscall.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(s.ringFD), ioringRegEventfd, uintptr(unsafe.Pointer(&efd32)), 1, 0, 0); errno != 0 {
		syscall.Close(efd)
		s.release()
		return nil, fmt.Errorf("flow: registering the io_uring eventfd: %w", errno)
	}
	s.efd = os.NewFile(uintptr(efd), "io_uring-eventfd") // non-blocking: the network poller watches it
	go s.reap()
	return s, nil
}

func (s *uringSyncer) mapRings() error {
	p := &s.params
	mmap := func(offset int64, size uint32) ([]byte, error) {
		b, err := syscall.Mmap(s.ringFD, offset, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, fmt.Errorf("flow: mapping io_uring: %w", err)
		}
		return b, nil
	}
	var err error
	if s.sqRing, err = mmap(ioringOffSQRing, p.sqOff.array+p.sqEntries*4); err != nil {
		return err
	}
	if s.cqRing, err = mmap(ioringOffCQRing, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(uringCQE{}))); err != nil {
		return err
	}
	s.sqes, err = mmap(ioringOffSQEs, p.sqEntries*uint32(unsafe.Sizeof(uringSQE{})))
	return err
}

// release unmaps the rings and closes the instance.
func (s *uringSyncer) release() {
	for _, b := range [][]byte{s.sqRing, s.cqRing, s.sqes} {
		if b != nil {
			_ = syscall.Munmap(b)
		}
	}
	syscall.Close(s.ringFD)
}

func ringWord(ring []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&ring[off])) }

// datasync starts fdatasync of fd and calls done with its result from the
// reaper goroutine. An error means the sync was not started (done is not
// called): the caller may fall back to a blocking sync.
func (s *uringSyncer) datasync(fd uintptr, done func(error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errSyncerClosed
	}
	if len(s.pending) >= int(s.params.cqEntries) {
		return errors.New("flow: io_uring completion queue full") // it must never overflow
	}
	p := &s.params
	tail := atomic.LoadUint32(ringWord(s.sqRing, p.sqOff.tail))
	index := tail & *ringWord(s.sqRing, p.sqOff.ringMask)
	s.next++
	*(*uringSQE)(unsafe.Pointer(&s.sqes[uintptr(index)*unsafe.Sizeof(uringSQE{})])) = uringSQE{
		opcode: ioringOpFsync, fd: int32(fd), opFlags: ioringFsyncData, userData: s.next,
	}
	*ringWord(s.sqRing, p.sqOff.array+index*4) = index
	atomic.StoreUint32(ringWord(s.sqRing, p.sqOff.tail), tail+1) // publishes the entry
	for {
		n, _, errno := syscall.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(s.ringFD), 1, 0, 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		if errno != 0 || n != 1 {
			// Not consumed: take the entry back so it is not submitted later.
			atomic.StoreUint32(ringWord(s.sqRing, p.sqOff.tail), tail)
			if errno == 0 {
				errno = syscall.EAGAIN
			}
			return fmt.Errorf("flow: io_uring_enter: %w", errno)
		}
		s.pending[s.next] = done
		return nil
	}
}

// reap waits on the eventfd in the network poller and completes the
// finished syncs, until the eventfd is closed.
func (s *uringSyncer) reap() {
	defer close(s.reaperDone)
	var counter [8]byte
	for {
		if _, err := s.efd.Read(counter[:]); err != nil {
			return
		}
		s.reapFinished()
	}
}

// reapFinished consumes the completion queue and calls each sync's done.
func (s *uringSyncer) reapFinished() {
	p := &s.params
	head := ringWord(s.cqRing, p.cqOff.head)
	tail := ringWord(s.cqRing, p.cqOff.tail)
	mask := *ringWord(s.cqRing, p.cqOff.ringMask)
	for {
		h := atomic.LoadUint32(head)
		if h == atomic.LoadUint32(tail) {
			return
		}
		cqe := *(*uringCQE)(unsafe.Pointer(&s.cqRing[uintptr(p.cqOff.cqes)+uintptr(h&mask)*unsafe.Sizeof(uringCQE{})]))
		atomic.StoreUint32(head, h+1) // frees the slot for the kernel
		s.mu.Lock()
		done := s.pending[cqe.userData]
		delete(s.pending, cqe.userData)
		if s.closed && len(s.pending) == 0 && s.drained != nil {
			close(s.drained)
			s.drained = nil
		}
		s.mu.Unlock()
		if done == nil {
			continue
		}
		var err error
		if cqe.res < 0 {
			err = fmt.Errorf("flow: fdatasync: %w", syscall.Errno(-cqe.res))
		}
		done(err)
	}
}

// close refuses new syncs, waits for those in flight, and releases the
// ring and the eventfd.
func (s *uringSyncer) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var drained chan struct{}
	if len(s.pending) > 0 {
		drained = make(chan struct{})
		s.drained = drained
	}
	s.mu.Unlock()
	if drained != nil {
		<-drained
	}
	err := s.efd.Close() // the reaper's read fails: it exits
	<-s.reaperDone
	s.release()
	return err
}
