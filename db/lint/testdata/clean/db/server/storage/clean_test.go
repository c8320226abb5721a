package storage

import (
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	if pollEvery != 250*time.Millisecond {
		t.Fatal(pollEvery)
	}
}
