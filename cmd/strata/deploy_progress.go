package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/strata-db/strata/deployer/event"
)

// liveView is the progress of a run on a terminal: one line per host (and
// one for the cluster), rewritten in place as its steps start, finish or
// fail. Output that is not a terminal gets event.Lines instead.
type liveView struct {
	mu    sync.Mutex
	w     io.Writer
	width int
	order []string
	lines map[string]string
	drawn int
}

func newLiveView(w io.Writer, width int, hosts []string) *liveView {
	v := &liveView{w: w, width: width, lines: map[string]string{}}
	v.order = slices.Clone(hosts)
	for _, h := range v.order {
		v.lines[h] = "waiting"
	}
	return v
}

// Emit implements event.Sink.
func (v *liveView) Emit(e event.Event) {
	where := e.Host
	if where == "" {
		where = "cluster"
	}
	text := string(e.Status) + " " + e.Step
	if e.Resource != "" {
		text += " " + e.Resource
	}
	if e.Error != "" {
		text += ": " + e.Error
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.lines[where]; !ok {
		v.order = append(v.order, where)
	}
	v.lines[where] = e.Time.Format("15:04:05") + " " + text
	v.draw()
}

// draw moves the cursor back over the block drawn last and rewrites it.
// Lines are cut to the terminal's width so none wraps and the count of
// lines to move back over stays right.
func (v *liveView) draw() {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	nameWidth := 0
	for _, h := range v.order {
		nameWidth = max(nameWidth, len(h))
	}
	for _, h := range v.order {
		line := fmt.Sprintf("  %-*s  %s", nameWidth, h, v.lines[h])
		if v.width > 1 && len(line) >= v.width {
			line = line[:v.width-1]
		}
		b.WriteString("\x1b[2K" + line + "\n")
	}
	v.drawn = len(v.order)
	io.WriteString(v.w, b.String())
}

// progressSink picks how a run reports progress: JSON lines with -json, a
// live view on a terminal, plain lines otherwise.
func progressSink(stdout, stderr io.Writer, jsonOut bool, hosts []string) event.Sink {
	if jsonOut {
		return event.NewJSONLines(stdout)
	}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		width, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			width = 0
		}
		return newLiveView(stderr, width, hosts)
	}
	return event.NewLines(stderr)
}
