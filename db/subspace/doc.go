// Package subspace gives a part of the key space a fixed byte prefix and
// packs tuples beneath it, the way FoundationDB's subspace layer does
// (bindings/python/fdb/subspace_impl.py):
// a subspace's keys are its prefix followed by a packed tuple, so one
// application's or tenant's data sorts together and can be read or cleared
// as one range.
package subspace
