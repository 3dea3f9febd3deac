// Command custom-worker is a funcx worker binary with Go functions of its
// own. An endpoint runs it in place of the default worker when its profile
// says so:
//
//	# $FUNCX_HOME/<name>/config.toml
//	worker_command = "/path/to/custom-worker"
//
// Tasks then call its functions by name (funcx.GoFunc("wordcount")) with
// JSON arguments. Run by hand, without FUNCX_ROLE=worker in its
// environment, it prints how to use it and exits.
//
// The pattern for any worker binary: register functions in init (or at
// the top of main), then call worker.Main first thing in main.
package main

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
)

func init() {
	worker.Register("wordcount", wordCount)
	worker.Register("isprime", isPrime)
	worker.Register("countprimes", countPrimes)
}

func main() {
	worker.Main() // serves and exits when started as a worker
	fmt.Print(usage)
}

const usage = `custom-worker: a funcx worker binary with its own Go functions.

It is started by a funcx manager, not by hand. To use it, build it and set
in the endpoint profile ($FUNCX_HOME/<name>/config.toml):

    worker_command = "/path/to/custom-worker"

then restart the endpoint. Tasks can call, with JSON arguments:

    wordcount    {"text": "..."}          -> {"words": n, "lines": n, "top": [...]}
    isprime      17                       -> true
    countprimes  {"below": 1000000}       -> 78498

plus the built-ins noop, echo and sleep.
`

// WordCountArgs are wordcount's arguments.
type WordCountArgs struct {
	Text string `json:"text"`
	// Top is how many of the most frequent words to return; default 3.
	Top int `json:"top,omitempty"`
}

// WordCount is wordcount's result.
type WordCount struct {
	Words int        `json:"words"`
	Lines int        `json:"lines"`
	Top   []WordFreq `json:"top"`
}

// WordFreq is one word and how often it occurs.
type WordFreq struct {
	Word  string `json:"word"`
	Count int    `json:"count"`
}

func wordCount(_ context.Context, in WordCountArgs) (WordCount, error) {
	if in.Top < 0 {
		return WordCount{}, funcx.Errorf(funcx.InvalidTask, "top %d is negative", in.Top)
	}
	top := in.Top
	if top == 0 {
		top = 3
	}
	counts := map[string]int{}
	words := strings.FieldsFunc(strings.ToLower(in.Text), func(r rune) bool {
		return !(r == '\'' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127)
	})
	for _, w := range words {
		counts[w]++
	}
	lines := 0
	for range strings.Lines(in.Text) {
		lines++
	}
	freq := make([]WordFreq, 0, len(counts))
	for w, n := range counts {
		freq = append(freq, WordFreq{w, n})
	}
	slices.SortFunc(freq, func(a, b WordFreq) int {
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		return strings.Compare(a.Word, b.Word)
	})
	return WordCount{
		Words: len(words),
		Lines: lines,
		Top:   freq[:min(top, len(freq))],
	}, nil
}

// isPrime is exact for every uint64: ProbablyPrime(0) is the Baillie-PSW
// test, which has no counterexample below 2^64.
func isPrime(_ context.Context, n uint64) (bool, error) {
	return new(big.Int).SetUint64(n).ProbablyPrime(0), nil
}

// CountPrimesArgs are countprimes' arguments.
type CountPrimesArgs struct {
	Below int `json:"below"`
}

// maxSieve bounds countprimes' memory (one byte per number).
const maxSieve = 1 << 30

// countPrimes counts the primes below in.Below with a sieve. It checks ctx
// as it goes, the way a long function should, so that a task timeout or a
// stopping worker interrupts it.
func countPrimes(ctx context.Context, in CountPrimesArgs) (int, error) {
	if in.Below < 0 || in.Below > maxSieve {
		return 0, funcx.Errorf(funcx.InvalidTask, "below %d is outside [0, %d]", in.Below, maxSieve)
	}
	composite := make([]bool, in.Below)
	count := 0
	for i := 2; i < in.Below; i++ {
		// Check before each marking pass (they are long for small i) and
		// every 65536 numbers after.
		if (i*i < in.Below || i%(1<<16) == 0) && ctx.Err() != nil {
			return 0, fmt.Errorf("count primes below %d: stopped at %d: %w", in.Below, i, ctx.Err())
		}
		if composite[i] {
			continue
		}
		count++
		for j := i * i; j < in.Below; j += i {
			composite[j] = true
		}
	}
	return count, nil
}
