package monitor

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// confWatcher watches the configuration file's directory, not the file: an
// atomic replacement (write a temporary file, rename it into place) swaps
// the inode, and a watch on the old one would see nothing more.
type confWatcher struct {
	w    *fsnotify.Watcher
	done chan struct{}
	wg   sync.WaitGroup
}

// watchConf calls changed (debounced) after the file at path is created,
// renamed into place or written.
func watchConf(path string, debounce time.Duration, log *slog.Logger, changed func()) (*confWatcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching configuration: %w", err)
	}
	if err := w.Add(filepath.Dir(path)); err != nil {
		w.Close()
		return nil, fmt.Errorf("watching configuration directory: %w", err)
	}
	cw := &confWatcher{w: w, done: make(chan struct{})}
	cw.wg.Add(1)
	go cw.loop(filepath.Clean(path), debounce, log, changed)
	return cw, nil
}

func (cw *confWatcher) loop(path string, debounce time.Duration, log *slog.Logger, changed func()) {
	defer cw.wg.Done()
	timer := time.NewTimer(debounce)
	timer.Stop()
	for {
		select {
		case ev, ok := <-cw.w.Events:
			if !ok {
				return
			}
			if filepath.Clean(ev.Name) == path && ev.Op&(fsnotify.Create|fsnotify.Write) != 0 {
				timer.Reset(debounce)
			}
		case err, ok := <-cw.w.Errors:
			if !ok {
				return
			}
			log.Error("watching configuration", "error", err)
			timer.Reset(debounce) // events may have been lost: re-read to be sure
		case <-timer.C:
			changed()
		case <-cw.done:
			timer.Stop()
			return
		}
	}
}

// Close stops watching and waits for the watcher's goroutine.
func (cw *confWatcher) Close() error {
	close(cw.done)
	err := cw.w.Close()
	cw.wg.Wait()
	return err
}
