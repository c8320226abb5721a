package tui

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunShowsFixtureAndQuits runs the real Bubble Tea program over pipes:
// it fetches the fixture, renders a view from it (seen in the window
// title, which the renderer writes even without a terminal size), and
// exits on q.
func TestRunShowsFixtureAndQuits(t *testing.T) {
	inR, inW := io.Pipe()
	var out syncBuffer
	src := FileSource{Path: filepath.Join(fixtureDir, "healthy_triple.json")}
	done := make(chan error, 1)
	go func() { done <- Run(t.Context(), Options{Source: src, Interval: 50 * time.Millisecond}, inR, &out) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "strata dash · prod") {
		if time.Now().After(deadline) {
			t.Fatalf("the fixture was not drawn within 5s; output so far:\n%q", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := inW.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after q, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of q")
	}
}

// TestRunEndsWithContext: cancelling the context (SIGINT in strata dash)
// ends the program without an error.
func TestRunEndsWithContext(t *testing.T) {
	inR, _ := io.Pipe()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Source: &staticSource{st: loadFixture(t, "recovery.json")}}, inR, io.Discard)
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
}

// syncBuffer is a bytes.Buffer safe for the program's writer goroutine and
// the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
