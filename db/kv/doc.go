// Package kv holds the key-value vocabulary shared by Strata's client and
// its server roles: versions, keys and ranges, key selectors, mutations and
// their types, the database's limits, and its errors with FoundationDB's
// names and codes. It has no behaviour that needs a runtime.
package kv
