//go:build !linux

package state

import (
	"io/fs"
	"time"
)

// fileStamp has no inode and ctime to go by here, so nothing is cached.
func fileStamp(fs.FileInfo) (string, time.Time, bool) { return "", time.Time{}, false }
