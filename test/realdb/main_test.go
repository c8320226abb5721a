package realdb

import (
	"testing"

	"github.com/strata-db/strata/test/testserver"
)

// TestMain shares one strata binary among the package's tests.
func TestMain(m *testing.M) { testserver.Main(m) }
