package register

import (
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// Kind is what an operation does to its register.
type Kind uint8

// The operations on a register.
const (
	Read Kind = iota
	Write
	CompareAndSet
)

// Input is one operation on the register Key: a read, a write of Value, or
// a compare-and-set that writes Value if the register holds Expect.
type Input struct {
	Kind   Kind
	Key    string
	Value  string
	Expect string
}

// Output is what the operation returned: a read's Value, whether a
// compare-and-set Swapped, and whether the outcome is Unknown (a write or
// compare-and-set that may or may not have taken effect).
type Output struct {
	Value   string
	Swapped bool
	Unknown bool
}

// Model is a map of registers that start empty (""), partitioned by key so
// that each register is checked on its own.
var Model = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() any { return "" },
	Step:      step,
	DescribeOperation: func(input, output any) string {
		return describe(input.(Input), output.(Output))
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
}

// step applies in to the register's state, given that it returned out.
// An operation of unknown outcome is placed where it took effect; that it
// never did is the checker's choice to place it last, which its open end
// allows.
func step(state, input, output any) (bool, any) {
	s, in, out := state.(string), input.(Input), output.(Output)
	switch in.Kind {
	case Read:
		return out.Value == s, s
	case Write:
		return true, in.Value
	case CompareAndSet:
		if out.Unknown {
			if s == in.Expect {
				return true, in.Value
			}
			return true, s
		}
		if out.Swapped {
			return s == in.Expect, in.Value
		}
		return s != in.Expect, s
	}
	return false, s
}

// partitionByKey splits the history into one history per register, in key
// order.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

func describe(in Input, out Output) string {
	var s string
	switch in.Kind {
	case Read:
		return fmt.Sprintf("read(%s) -> %q", in.Key, out.Value)
	case Write:
		s = fmt.Sprintf("write(%s, %q)", in.Key, in.Value)
	case CompareAndSet:
		s = fmt.Sprintf("cas(%s, %q -> %q)", in.Key, in.Expect, in.Value)
		if !out.Unknown {
			s += fmt.Sprintf(" -> %v", out.Swapped)
		}
	}
	if out.Unknown {
		s += " -> unknown"
	}
	return s
}
