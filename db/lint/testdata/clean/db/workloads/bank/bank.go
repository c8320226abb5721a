package bank

import (
	"fmt"
	"sort"
)

// report sorts map keys so the output does not depend on iteration order.
func report(balances map[string]int64) string {
	keys := make([]string, 0, len(balances))
	for k := range balances {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return fmt.Sprint(keys)
}
