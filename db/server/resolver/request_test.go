package resolver

import (
	"errors"
	"testing"

	"github.com/strata-db/strata/db/flow"
	"github.com/strata-db/strata/db/wire"
)

// Requests built in process (not decoded from the wire) may hold nils; they
// are rejected, not dereferenced.
func TestValidateRejectsNils(t *testing.T) {
	for name, req := range map[string]*wire.ResolveTransactionBatchRequest{
		"nil transaction": {PrevVersion: 1, Version: 2, Transactions: []*wire.ResolverTransaction{nil}},
		"nil range": {PrevVersion: 1, Version: 2, Transactions: []*wire.ResolverTransaction{
			{ReadVersion: 1, WriteConflictRanges: []*wire.KeyRange{nil}}}},
	} {
		if err := validate(req); !errors.Is(err, flow.ErrMalformedRequest) {
			t.Errorf("%s: validate = %v, want malformed_request", name, err)
		}
	}
}
