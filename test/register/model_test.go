package register

import (
	"testing"

	"github.com/anishathalye/porcupine"
)

func op(client int, call, ret int64, in Input, out Output) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

func TestModelDecidesRegisterHistories(t *testing.T) {
	w := func(k, v string) Input { return Input{Kind: Write, Key: k, Value: v} }
	r := func(k string) Input { return Input{Kind: Read, Key: k} }
	cas := func(k, e, v string) Input { return Input{Kind: CompareAndSet, Key: k, Expect: e, Value: v} }
	val := func(v string) Output { return Output{Value: v} }
	unknown := Output{Unknown: true}
	for _, tc := range []struct {
		name    string
		history []porcupine.Operation
		want    porcupine.CheckResult
	}{
		{"a read sees the acknowledged write", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, 30, r("a"), val("1")),
		}, porcupine.Ok},
		{"a stale read", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, 30, r("a"), val("")),
		}, porcupine.Illegal},
		{"registers are independent", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, 30, r("b"), val("")),
		}, porcupine.Ok},
		{"an unknown write that never happened", []porcupine.Operation{
			op(0, 0, never, w("a", "1"), unknown), op(1, 20, 30, r("a"), val("")),
		}, porcupine.Ok},
		{"an unknown write that happened late", []porcupine.Operation{
			op(0, 0, never, w("a", "1"), unknown), op(1, 20, 30, r("a"), val("")), op(1, 40, 50, r("a"), val("1")),
		}, porcupine.Ok},
		{"an unknown write cannot happen twice", []porcupine.Operation{
			op(0, 0, never, w("a", "1"), unknown), op(1, 20, 30, r("a"), val("1")),
			op(1, 40, 50, w("a", "2"), Output{}), op(1, 60, 70, r("a"), val("1")),
		}, porcupine.Illegal},
		{"a swap from the value read", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, 30, cas("a", "1", "2"), Output{Swapped: true}), op(0, 40, 50, r("a"), val("2")),
		}, porcupine.Ok},
		{"a swap from a value the register does not hold", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, 30, cas("a", "", "2"), Output{Swapped: true}),
		}, porcupine.Illegal},
		{"a failed swap although the register held the value", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, 30, cas("a", "1", "2"), Output{}),
		}, porcupine.Illegal},
		{"an unknown swap that happened", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, never, cas("a", "1", "2"), unknown), op(0, 40, 50, r("a"), val("2")),
		}, porcupine.Ok},
		{"an unknown swap cannot apply to another value", []porcupine.Operation{
			op(0, 0, 10, w("a", "1"), Output{}), op(1, 20, never, cas("a", "", "2"), unknown), op(0, 40, 50, r("a"), val("2")),
		}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := porcupine.CheckOperationsTimeout(Model, tc.history, 0); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
