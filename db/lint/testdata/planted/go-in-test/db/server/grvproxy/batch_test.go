package grvproxy

import "testing"

func TestStart(t *testing.T) {
	done := false
	go func() { done = true }()
	_ = done
}
