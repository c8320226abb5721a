package controller

import (
	"testing"

	"github.com/strata-db/strata/db/server/grvproxy"
)

// A GRV proxy of an ended generation answers for up to its confirm window
// after the logs it confirmed with were locked; a recovery must outwait
// that before its generation takes commits, or a client could read below
// a commit another client saw acknowledged.
func TestRecoveryOutwaitsTheGRVConfirmWindow(t *testing.T) {
	if k := defaultRecoveryKnobs(); k.minRecoveryDuration <= grvproxy.DefaultConfirmWindow {
		t.Fatalf("a recovery waits %v after locking the old logs, not longer than a GRV proxy's confirm window (%v)",
			k.minRecoveryDuration, grvproxy.DefaultConfirmWindow)
	}
}
