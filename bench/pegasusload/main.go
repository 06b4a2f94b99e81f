// pegasusload drives put or get load against a Pegasus cluster with the Apache Pegasus
// Go client and prints one JSON line of figures. It is the pegasus-log side of the
// benchmarks that compare against etcd driven by an equivalent Go program.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/incubator-pegasus/go-client/config"
	"github.com/apache/incubator-pegasus/go-client/pegasus"
)

type result struct {
	Op       string  `json:"op"`
	Clients  int     `json:"clients"`
	Ops      int     `json:"ops"`
	Errors   int     `json:"errors"`
	OpsPerS  float64 `json:"ops_per_s"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	Seconds  float64 `json:"seconds"`
	KeySpace int     `json:"keys"`
}

func main() {
	meta := flag.String("meta", "127.0.0.1:34601", "meta servers, comma separated")
	table := flag.String("table", "temp", "table")
	op := flag.String("op", "put", "put or get")
	clients := flag.Int("clients", 16, "concurrent clients (goroutines)")
	seconds := flag.Float64("seconds", 10, "duration")
	valueSize := flag.Int("value-size", 100, "value bytes")
	keys := flag.Int("keys", 10000, "distinct keys")
	timeout := flag.Duration("timeout", 5*time.Second, "per-operation timeout")
	flag.Parse()

	client := pegasus.NewClient(config.Config{MetaServers: strings.Split(*meta, ",")})
	defer client.Close()
	ctx := context.Background()
	tb, err := client.OpenTable(ctx, *table)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open table:", err)
		os.Exit(1)
	}
	value := make([]byte, *valueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	if *op == "get" { // make sure every key read exists
		for k := 0; k < *keys; k++ {
			c, cancel := context.WithTimeout(ctx, *timeout)
			if err := tb.Set(c, key(k), []byte("s"), value); err != nil {
				fmt.Fprintln(os.Stderr, "preload:", err)
				os.Exit(1)
			}
			cancel()
		}
	}

	deadline := time.Now().Add(time.Duration(*seconds * float64(time.Second)))
	lats := make([][]time.Duration, *clients)
	errs := make([]int, *clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < *clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i += *clients {
				k := key(i % *keys)
				c, cancel := context.WithTimeout(ctx, *timeout)
				t0 := time.Now()
				var err error
				if *op == "put" {
					err = tb.Set(c, k, []byte("s"), value)
				} else {
					_, err = tb.Get(c, k, []byte("s"))
				}
				cancel()
				if err != nil {
					errs[w]++
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()

	var all []time.Duration
	nerr := 0
	for w := range lats {
		all = append(all, lats[w]...)
		nerr += errs[w]
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	r := result{Op: *op, Clients: *clients, Ops: len(all), Errors: nerr, Seconds: elapsed,
		OpsPerS: float64(len(all)) / elapsed, KeySpace: *keys}
	if len(all) > 0 {
		r.P50Ms = ms(all[len(all)/2])
		r.P99Ms = ms(all[len(all)*99/100])
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
}

func key(i int) []byte { return []byte(fmt.Sprintf("bench-%08d", i)) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
