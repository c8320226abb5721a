package flow

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestOSFSSyncsEveryTouchedDirectory(t *testing.T) {
	root := t.TempDir()
	fsys, err := NewOSFS(root)
	if err != nil {
		t.Fatal(err)
	}
	o := fsys.(*osFS)
	f, err := fsys.Open("tlog/seg/0001", true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, d := range []string{filepath.Join(root, "tlog", "seg"), filepath.Join(root, "tlog"), root} {
		if !o.dirty[d] {
			t.Errorf("creating a file did not mark %s for SyncDir", d)
		}
	}
	if err := fsys.Rename("tlog/seg/0001", "tlog/0001"); err != nil {
		t.Fatal(err)
	}
	p, err := NewRealProcess(RealConfig{ListenAddress: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stop := p.Start()
	defer stop()
	got, err := Submit(ctx, p, func(e *Env) Future[struct{}] {
		pr := NewPromise[struct{}]()
		e.Spawn("sync", func(c *Ctx) error {
			if err := fsys.SyncDir(c); err != nil {
				pr.Fail(err)
				return err
			}
			pr.Send(struct{}{})
			return nil
		})
		return pr.Future()
	})
	_ = got
	if err != nil {
		t.Fatal(err)
	}
	if len(o.dirty) != 0 {
		t.Fatalf("directories still dirty after SyncDir: %v", o.dirty)
	}
	if _, err := fsys.Open("missing", false); !errors.Is(err, ErrNotExist) {
		t.Fatalf("opening a missing file: %v", err)
	}
}

func TestOSFSRemovingLastFileRemovesItsDirectories(t *testing.T) {
	root := t.TempDir()
	fsys, err := NewOSFS(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tlog-a/seg/0001", "tlog-a/state", "keep/file"} {
		f, err := fsys.Open(name, true)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	if err := fsys.Remove("tlog-a/seg/0001"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "tlog-a", "seg")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("empty directory tlog-a/seg kept after its last file went: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "tlog-a")); err != nil {
		t.Fatalf("directory tlog-a, still holding a file, is gone: %v", err)
	}
	if err := fsys.Remove("tlog-a/state"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "keep" {
		t.Fatalf("root holds %v, want only keep", entries)
	}
}
