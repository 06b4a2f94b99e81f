package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/anishathalye/porcupine"
)

// Record is one operation of a recorded history, as the workload writes it: one JSON
// object per line (or a JSON array of them).
//
//	{"client": 0, "key": "k1", "op": "set", "value": "c0-7",
//	 "invoke_ns": 120, "return_ns": 180, "outcome": "ok"}
//
// op is "get", "set" or "check_and_set". value is the value written (set,
// check_and_set) or the value read (get; null = absent). expected is what
// check_and_set compares with (null = the key must be absent). outcome is "ok",
// "fail" (check_and_set only: the check failed, nothing was written) or "unknown"
// (an error or timeout: the operation may have taken effect at any time after its
// invocation, or never). return_ns is ignored for unknown outcomes.
type Record struct {
	Client   *int    `json:"client"`
	Key      *string `json:"key"`
	Op       string  `json:"op"`
	Value    *string `json:"value"`
	Expected *string `json:"expected"`
	InvokeNs *int64  `json:"invoke_ns"`
	ReturnNs *int64  `json:"return_ns"`
	Outcome  string  `json:"outcome"`
	Error    string  `json:"error,omitempty"`
}

const (
	opGet = "get"
	opSet = "set"
	opCas = "check_and_set"

	outcomeOk      = "ok"
	outcomeFail    = "fail"
	outcomeUnknown = "unknown"
)

// Input of one operation to the register model.
type Input struct {
	Op       string
	Key      string
	Value    string // set / check_and_set: written; unused for get
	Expected Value  // check_and_set only
}

// Output of one operation. Known false: the outcome is unknown.
type Output struct {
	Known     bool
	Succeeded bool  // check_and_set: the check passed and the value was written
	Read      Value // get
}

// Value of one key: Present false means absent.
type Value struct {
	Present bool
	Data    string
}

func (v Value) String() string {
	if !v.Present {
		return "<absent>"
	}
	return fmt.Sprintf("%q", v.Data)
}

func optional(s *string) Value {
	if s == nil {
		return Value{}
	}
	return Value{Present: true, Data: *s}
}

// Stats counts what a history held.
type Stats struct {
	Ops           int
	ByKind        map[string]int
	Unknown       int
	UnknownReads  int // dropped: a read whose result is unknown constrains nothing
	FailedCas     int
	Clients       int
	Keys          []string
	DuplicateSets []string
}

// ReadHistory parses JSON lines or a JSON array into porcupine operations.
func ReadHistory(r io.Reader) ([]porcupine.Operation, Stats, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, Stats{}, err
	}
	var records []Record
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&records); err != nil {
			return nil, Stats{}, fmt.Errorf("JSON array: %w", err)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<26)
		line := 0
		for sc.Scan() {
			line++
			text := bytes.TrimSpace(sc.Bytes())
			if len(text) == 0 {
				continue
			}
			var rec Record
			dec := json.NewDecoder(bytes.NewReader(text))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&rec); err != nil {
				return nil, Stats{}, fmt.Errorf("line %d: %w", line, err)
			}
			records = append(records, rec)
		}
		if err := sc.Err(); err != nil {
			return nil, Stats{}, err
		}
	}
	return convert(records)
}

func convert(records []Record) ([]porcupine.Operation, Stats, error) {
	stats := Stats{ByKind: map[string]int{}}
	clients := map[int]bool{}
	keys := map[string]bool{}
	written := map[string]int{}
	var ops []porcupine.Operation
	for i, rec := range records {
		op, keep, err := convertOne(rec)
		if err != nil {
			return nil, Stats{}, fmt.Errorf("operation %d: %w", i+1, err)
		}
		stats.Ops++
		stats.ByKind[rec.Op]++
		clients[*rec.Client] = true
		keys[*rec.Key] = true
		if rec.Outcome == outcomeUnknown {
			stats.Unknown++
		}
		if rec.Outcome == outcomeFail {
			stats.FailedCas++
		}
		if rec.Op != opGet {
			written[*rec.Key+"\x00"+*rec.Value]++
		}
		if !keep {
			stats.UnknownReads++
			continue
		}
		ops = append(ops, op)
	}
	for k := range keys {
		stats.Keys = append(stats.Keys, k)
	}
	sort.Strings(stats.Keys)
	for kv, n := range written {
		if n > 1 {
			stats.DuplicateSets = append(stats.DuplicateSets, kv)
		}
	}
	sort.Strings(stats.DuplicateSets)
	stats.Clients = len(clients)
	return ops, stats, nil
}

func convertOne(rec Record) (porcupine.Operation, bool, error) {
	var none porcupine.Operation
	if rec.Client == nil || *rec.Client < 0 {
		return none, false, fmt.Errorf("missing or negative client")
	}
	if rec.Key == nil {
		return none, false, fmt.Errorf("missing key")
	}
	if rec.InvokeNs == nil {
		return none, false, fmt.Errorf("missing invoke_ns")
	}
	in := Input{Op: rec.Op, Key: *rec.Key}
	out := Output{}
	switch rec.Outcome {
	case outcomeOk, outcomeFail:
		out.Known = true
	case outcomeUnknown:
	default:
		return none, false, fmt.Errorf("outcome %q, want ok, fail or unknown", rec.Outcome)
	}
	switch rec.Op {
	case opGet:
		if rec.Outcome == outcomeFail {
			return none, false, fmt.Errorf("a get cannot fail; use unknown")
		}
		out.Read = optional(rec.Value)
	case opSet:
		if rec.Value == nil {
			return none, false, fmt.Errorf("set without value")
		}
		if rec.Outcome == outcomeFail {
			return none, false, fmt.Errorf("a set cannot fail definitely; use unknown")
		}
		in.Value = *rec.Value
	case opCas:
		if rec.Value == nil {
			return none, false, fmt.Errorf("check_and_set without value")
		}
		in.Value = *rec.Value
		in.Expected = optional(rec.Expected)
		out.Succeeded = rec.Outcome == outcomeOk
	default:
		return none, false, fmt.Errorf("op %q, want get, set or check_and_set", rec.Op)
	}
	ret := int64(math.MaxInt64)
	if out.Known {
		if rec.ReturnNs == nil {
			return none, false, fmt.Errorf("missing return_ns for a known outcome")
		}
		if *rec.ReturnNs < *rec.InvokeNs {
			return none, false, fmt.Errorf("return_ns %d before invoke_ns %d", *rec.ReturnNs, *rec.InvokeNs)
		}
		ret = *rec.ReturnNs
	}
	keep := !(rec.Op == opGet && !out.Known)
	return porcupine.Operation{
		ClientId: *rec.Client,
		Input:    in,
		Call:     *rec.InvokeNs,
		Output:   out,
		Return:   ret,
	}, keep, nil
}
