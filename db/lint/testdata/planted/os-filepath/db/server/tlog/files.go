package tlog

import "path/filepath"

func logs(dir string) ([]string, error) {
	return filepath.Glob(filepath.Join(dir, "*.log"))
}
