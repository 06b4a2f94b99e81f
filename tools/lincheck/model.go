package main

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// RegisterModel is a map of independent registers, one per key, with get, set and
// check_and_set. The checker partitions histories by key, so a state is one Value.
//
// An operation with an unknown outcome stays pending until the end of the history:
// porcupine may place it anywhere after its invocation. A set placed there writes; a
// check_and_set placed there writes when its check passes there and changes nothing
// otherwise. Placing it after every other operation of its key is "it never happened".
var RegisterModel = porcupine.Model{
	Partition: partitionByKey,
	Init:      func() interface{} { return Value{} },
	Step:      step,
	DescribeOperation: func(input, output interface{}) string {
		return describe(input.(Input), output.(Output))
	},
	DescribeState: func(state interface{}) string { return state.(Value).String() },
}

func step(state, input, output interface{}) (bool, interface{}) {
	s := state.(Value)
	in := input.(Input)
	out := output.(Output)
	switch in.Op {
	case opGet:
		return out.Read == s, s
	case opSet:
		return true, Value{Present: true, Data: in.Value}
	case opCas:
		pass := s == in.Expected
		if out.Known && out.Succeeded != pass {
			return false, s
		}
		if pass {
			return true, Value{Present: true, Data: in.Value}
		}
		return true, s
	}
	panic("unknown op " + in.Op)
}

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
	sort.Strings(keys)
	parts := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, byKey[k])
	}
	return parts
}

func describe(in Input, out Output) string {
	result := "?"
	switch in.Op {
	case opGet:
		if out.Known {
			result = out.Read.String()
		}
		return fmt.Sprintf("get(%s) -> %s", in.Key, result)
	case opSet:
		if out.Known {
			result = "ok"
		}
		return fmt.Sprintf("set(%s, %q) -> %s", in.Key, in.Value, result)
	case opCas:
		if out.Known {
			result = map[bool]string{true: "ok", false: "check failed"}[out.Succeeded]
		}
		return fmt.Sprintf("check_and_set(%s, %s -> %q) -> %s", in.Key, in.Expected, in.Value, result)
	}
	return in.Op
}
