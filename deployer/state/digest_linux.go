package state

import (
	"fmt"
	"io/fs"
	"syscall"
	"time"
)

// fileStamp identifies one version of a file (device, inode, size, and
// mtime and ctime to the nanosecond) and says when it last changed.
func fileStamp(info fs.FileInfo) (string, time.Time, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return "", time.Time{}, false
	}
	stamp := fmt.Sprintf("%d:%d:%d:%d.%09d:%d.%09d", st.Dev, st.Ino, st.Size,
		st.Mtim.Sec, st.Mtim.Nsec, st.Ctim.Sec, st.Ctim.Nsec)
	return stamp, time.Unix(st.Ctim.Sec, st.Ctim.Nsec), true
}
