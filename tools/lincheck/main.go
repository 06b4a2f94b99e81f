// Command lincheck checks a recorded pegasus-log history for linearizability with
// porcupine, against a key-partitioned register model (get, set, check_and_set).
//
//	lincheck [-html out.html] [-timeout 60s] history.jsonl   ("-" reads stdin)
//
// Exit status: 0 linearizable, 1 not linearizable, 2 bad input or usage, 3 the check
// timed out before reaching a verdict.
package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

const (
	exitLinearizable    = 0
	exitNotLinearizable = 1
	exitBadInput        = 2
	exitTimedOut        = 3
	// Operations shown around the point where a key's history stops linearizing.
	excerptOps = 8
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("lincheck", flag.ContinueOnError)
	flags.SetOutput(stderr)
	html := flags.String("html", "", "write porcupine's HTML visualization to this file")
	timeout := flags.Duration("timeout", 60*time.Second, "give up after this long (0: never)")
	if err := flags.Parse(args); err != nil {
		return exitBadInput
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: lincheck [-html out.html] [-timeout 60s] history.jsonl")
		return exitBadInput
	}
	ops, stats, err := load(flags.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "lincheck: bad input: %v\n", err)
		return exitBadInput
	}
	printStats(stdout, stats)
	start := time.Now()
	verdict := checkKeys(stdout, ops, *timeout)
	elapsed := time.Since(start)
	if *html != "" {
		if err := visualize(ops, *html, *timeout); err != nil {
			fmt.Fprintf(stderr, "lincheck: visualization: %v\n", err)
		} else {
			fmt.Fprintf(stdout, "visualization: %s\n", *html)
		}
	}
	switch verdict {
	case porcupine.Ok:
		fmt.Fprintf(stdout, "verdict: LINEARIZABLE (%d operations checked in %.3f s)\n", len(ops), elapsed.Seconds())
		return exitLinearizable
	case porcupine.Illegal:
		fmt.Fprintf(stdout, "verdict: NOT LINEARIZABLE (checked in %.3f s)\n", elapsed.Seconds())
		return exitNotLinearizable
	}
	fmt.Fprintf(stdout, "verdict: UNKNOWN (the check timed out after %.3f s)\n", elapsed.Seconds())
	return exitTimedOut
}

func load(path string) ([]porcupine.Operation, Stats, error) {
	if path == "-" {
		return ReadHistory(os.Stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, Stats{}, err
	}
	defer f.Close()
	return ReadHistory(f)
}

func printStats(w io.Writer, s Stats) {
	kinds := make([]string, 0, len(s.ByKind))
	for k, n := range s.ByKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	sort.Strings(kinds)
	fmt.Fprintf(w, "history: %d operations (%s), %d clients, %d keys\n",
		s.Ops, strings.Join(kinds, ", "), s.Clients, len(s.Keys))
	fmt.Fprintf(w, "unknown outcomes: %d (%d of them reads, left out), failed check_and_set: %d\n",
		s.Unknown, s.UnknownReads, s.FailedCas)
	for _, d := range s.DuplicateSets {
		kv := strings.SplitN(d, "\x00", 2)
		fmt.Fprintf(w, "warning: key %q: value %q written more than once; reads cannot tell those writes apart\n", kv[0], kv[1])
	}
}

// checkKeys checks each key on its own so that the verdict names the keys that fail.
func checkKeys(w io.Writer, ops []porcupine.Operation, timeout time.Duration) porcupine.CheckResult {
	parts := partitionByKey(ops)
	origin := int64(math.MaxInt64)
	for _, op := range ops {
		if op.Call < origin {
			origin = op.Call
		}
	}
	deadline := time.Now().Add(timeout)
	verdict := porcupine.Ok
	for _, part := range parts {
		key := part[0].Input.(Input).Key
		left := time.Duration(0)
		if timeout > 0 {
			left = time.Until(deadline)
			if left <= 0 {
				fmt.Fprintf(w, "key %q: not checked (out of time)\n", key)
				verdict = worse(verdict, porcupine.Unknown)
				continue
			}
		}
		single := RegisterModel
		single.Partition = nil
		if dropped := unseenWrites(part); len(dropped) > 0 {
			started := time.Now()
			ok, leftOut := checkLeavingOut(single, part, dropped, left)
			if ok {
				fmt.Fprintf(w, "key %q: linearizable (%d operations; %d writes of unknown outcome whose value nobody saw left out)\n",
					key, len(part), leftOut)
				continue
			}
			if timeout > 0 {
				left -= time.Since(started)
				if left <= 0 {
					fmt.Fprintf(w, "key %q: unknown (timed out, %d operations)\n", key, len(part))
					verdict = worse(verdict, porcupine.Unknown)
					continue
				}
			}
		}
		res, info := porcupine.CheckOperationsVerbose(single, part, left)
		switch res {
		case porcupine.Ok:
			fmt.Fprintf(w, "key %q: linearizable (%d operations)\n", key, len(part))
		case porcupine.Illegal:
			fmt.Fprintf(w, "key %q: NOT linearizable (%d operations)\n", key, len(part))
			excerpt(w, part, info, origin)
		default:
			fmt.Fprintf(w, "key %q: unknown (timed out, %d operations)\n", key, len(part))
		}
		verdict = worse(verdict, res)
	}
	return verdict
}

// unseenWrites are the writes (set, check_and_set) of unknown outcome in one key's
// operations whose value no operation saw: no get returned it and no check_and_set that
// may have passed expected it.
func unseenWrites(ops []porcupine.Operation) map[int]bool {
	seen := map[Value]bool{}
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		switch {
		case in.Op == opGet && out.Known:
			seen[out.Read] = true
		case in.Op == opCas && !(out.Known && !out.Succeeded):
			seen[in.Expected] = true
		}
	}
	unseen := map[int]bool{}
	for i, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		if in.Op != opGet && !out.Known && !seen[Value{Present: true, Data: in.Value}] {
			unseen[i] = true
		}
	}
	return unseen
}

// checkLeavingOut checks one key's operations without some of the unseen writes, and
// says whether that passed and how many it left out. Each write of unknown outcome stays
// pending to the end of the history, and porcupine's search grows with the writes
// pending at once, so a long history with many of them may not finish. Leaving
// operations of unknown outcome out can only turn a linearizable history into one that
// is not, never the reverse: a linearization without them is one with them placed after
// every other operation, which unknown outcomes allow. So a pass is a verdict for the
// whole history; anything else says nothing, and the caller checks the whole.
//
// It starts with all of them left out. When that does not linearize (a failed
// check_and_set, say, that only an unseen write explains), it puts back the unseen writes
// invoked in the refineWindow before the point where the search got stuck, and tries
// again, widening the window when there are none, until all are back or none is left
// before the stuck point. The caller's map is left as it was.
func checkLeavingOut(model porcupine.Model, ops []porcupine.Operation, unseen map[int]bool, budget time.Duration) (bool, int) {
	unseen = maps.Clone(unseen)
	deadline := time.Now().Add(budget)
	window := int64(refineWindow)
	for {
		var kept []porcupine.Operation
		for i, op := range ops {
			if !unseen[i] {
				kept = append(kept, op)
			}
		}
		left := time.Duration(0)
		if budget > 0 {
			left = time.Until(deadline)
			if left <= 0 {
				return false, 0
			}
		}
		res, info := porcupine.CheckOperationsVerbose(model, kept, left)
		if res == porcupine.Ok {
			return true, len(unseen)
		}
		if res != porcupine.Illegal || len(unseen) == 0 {
			return false, 0
		}
		// Only a write invoked before the stuck point can explain it; with none left
		// there, putting writes back cannot help: the caller checks the whole.
		stuck := stuckAt(kept, info)
		nearest := int64(math.MinInt64)
		for i := range unseen {
			if call := ops[i].Call; call <= stuck && call > nearest {
				nearest = call
			}
		}
		if nearest == math.MinInt64 {
			return false, 0
		}
		for stuck-window > nearest {
			window *= 4
		}
		for i := range unseen {
			if call := ops[i].Call; call <= stuck && call >= stuck-window {
				delete(unseen, i)
			}
		}
		if len(unseen) == 0 {
			return false, 0 // nothing left out: the caller checks the whole
		}
	}
}

// How far before the stuck point checkLeavingOut first looks for writes to put back: a
// little over the workload's 4 s deadline per operation.
const refineWindow = 5 * time.Second

// stuckAt is the invocation time of the earliest operation that the longest partial
// linearization porcupine found could not place.
func stuckAt(ops []porcupine.Operation, info porcupine.LinearizationInfo) int64 {
	_, placed := longestPrefix(info)
	stuck := int64(math.MaxInt64)
	for _, op := range ops {
		if !placed[[2]int64{int64(op.ClientId), op.Call}] && op.Call < stuck {
			stuck = op.Call
		}
	}
	return stuck
}

func worse(a, b porcupine.CheckResult) porcupine.CheckResult {
	rank := map[porcupine.CheckResult]int{porcupine.Ok: 0, porcupine.Unknown: 1, porcupine.Illegal: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// longestPrefix is the longest partial linearization porcupine found, and its operations
// by (client, invocation time).
func longestPrefix(info porcupine.LinearizationInfo) ([]porcupine.Operation, map[[2]int64]bool) {
	var longest []porcupine.Operation
	for _, p := range info.PartialLinearizationsOperations() {
		for _, l := range p {
			if len(l) > len(longest) {
				longest = l
			}
		}
	}
	placed := map[[2]int64]bool{}
	for _, op := range longest {
		placed[[2]int64{int64(op.ClientId), op.Call}] = true
	}
	return longest, placed
}

// excerpt prints the end of the longest linearizable prefix found and the operations
// that could not be placed after it, earliest first.
// Times are in ms from origin, the first invocation of the whole history.
func excerpt(w io.Writer, part []porcupine.Operation, info porcupine.LinearizationInfo, origin int64) {
	longest, placed := longestPrefix(info)
	fmt.Fprintf(w, "  longest linearizable prefix: %d of %d operations; it ends with:\n", len(longest), len(part))
	from := len(longest) - excerptOps
	if from < 0 {
		from = 0
	}
	for _, op := range longest[from:] {
		fmt.Fprintf(w, "    %s\n", line(op, origin))
	}
	var rest []porcupine.Operation
	for _, op := range part {
		if !placed[[2]int64{int64(op.ClientId), op.Call}] {
			rest = append(rest, op)
		}
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].Call < rest[j].Call })
	if len(rest) > excerptOps {
		rest = rest[:excerptOps]
	}
	fmt.Fprintln(w, "  none of these can come next:")
	for _, op := range rest {
		fmt.Fprintf(w, "    %s\n", line(op, origin))
	}
}

func line(op porcupine.Operation, origin int64) string {
	ret := "      never"
	if op.Return != math.MaxInt64 {
		ret = fmt.Sprintf("%11.3f", float64(op.Return-origin)/1e6)
	}
	return fmt.Sprintf("client %3d [%11.3f ms, %s ms] %s", op.ClientId,
		float64(op.Call-origin)/1e6, ret, describe(op.Input.(Input), op.Output.(Output)))
}

func visualize(ops []porcupine.Operation, path string, timeout time.Duration) error {
	_, info := porcupine.CheckOperationsVerbose(RegisterModel, ops, timeout)
	return porcupine.VisualizePath(RegisterModel, info, path)
}
