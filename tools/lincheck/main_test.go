package main

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
)

// A failed check_and_set that expected the key absent is explained only by a set of
// unknown outcome that nobody saw: leaving that set out fails, so checkLeavingOut puts
// it back. The caller's map of unseen writes must come back as it went in.
func TestCheckLeavingOutKeepsCallersMap(t *testing.T) {
	ops := casFailedAfterUnseenSet()
	unseen := unseenWrites(ops)
	if len(unseen) != 1 || !unseen[0] {
		t.Fatalf("unseen writes: got %v, want {0}", unseen)
	}
	ok, leftOut := checkLeavingOut(RegisterModel, ops, unseen, 0)
	if ok || leftOut != 0 {
		t.Fatalf("checkLeavingOut: got (%v, %d), want (false, 0): the set must be put back", ok, leftOut)
	}
	if len(unseen) != 1 || !unseen[0] {
		t.Fatalf("caller's map changed: got %v, want {0}", unseen)
	}
}

func casFailedAfterUnseenSet() []porcupine.Operation {
	set := porcupine.Operation{
		ClientId: 0,
		Input:    Input{Op: opSet, Key: "k", Value: "a"},
		Call:     0,
		Output:   Output{},
		Return:   math.MaxInt64,
	}
	cas := porcupine.Operation{
		ClientId: 1,
		Input:    Input{Op: opCas, Key: "k", Value: "b", Expected: Value{}},
		Call:     int64(2 * refineWindow),
		Output:   Output{Known: true, Succeeded: false},
		Return:   int64(2*refineWindow) + 1,
	}
	return []porcupine.Operation{set, cas}
}
