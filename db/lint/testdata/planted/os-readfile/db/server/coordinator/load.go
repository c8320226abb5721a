package coordinator

import "os"

func load(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	return data, err
}
