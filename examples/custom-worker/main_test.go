package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker/workertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// buildExample compiles this example into a temporary directory.
func buildExample(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "custom-worker")
	out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestCustomWorkerBinary(t *testing.T) {
	t.Parallel()
	bin := buildExample(t)

	t.Run("as a worker over a socketpair", func(t *testing.T) {
		t.Parallel()
		p := workertest.Start(t, exec.Command(bin), 2)
		if p.Ready.Worker != 2 || p.Ready.PID != p.Cmd.Process.Pid {
			t.Errorf("ready %+v", p.Ready)
		}
		wc := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("wordcount"), Received: time.Now(),
			Args: []byte(`{"text": "the cat and the hat\nthe end\n", "top": 2}`)}
		prime := funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("isprime"), Args: []byte(`18446744073709551557`)}
		slow := funcx.GoFunc("countprimes")
		slow.Timeout = 10 * time.Millisecond
		timeout := funcx.Task{ID: funcx.NewTaskID(), Function: slow, Args: []byte(`{"below": 50000000}`)}
		rs, err := p.Run(wc, prime, timeout)
		if err != nil {
			t.Fatalf("%v; stderr:\n%s", err, p.Stderr)
		}
		var got WordCount
		if err := json.Unmarshal(rs[0].Output, &got); err != nil || rs[0].Error != nil {
			t.Fatalf("wordcount: %v %v", err, rs[0].Error)
		}
		want := WordCount{Words: 7, Lines: 2, Top: []WordFreq{{"the", 3}, {"and", 1}}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("wordcount = %+v, want %+v", got, want)
		}
		if string(rs[1].Output) != "true" {
			t.Errorf("isprime(2^64-59) = %s %v", rs[1].Output, rs[1].Error)
		}
		if rs[2].Error == nil || rs[2].Error.Kind != funcx.TaskTimeout {
			t.Errorf("countprimes past its timeout: %+v", rs[2].Error)
		}
		if err := p.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if err := p.Wait(); err != nil {
			t.Errorf("exit: %v", err)
		}
	})

	t.Run("by hand prints usage", func(t *testing.T) {
		t.Parallel()
		cmd := exec.Command(bin)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")} // no FUNCX_ROLE
		out, err := cmd.Output()
		if err != nil || !strings.Contains(string(out), "worker_command") {
			t.Errorf("exit %v, output %q", err, out)
		}
	})
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("wordcount", func(t *testing.T) {
		t.Parallel()
		got, err := wordCount(ctx, WordCountArgs{Text: "It's a dog's life, a DOG's.", Top: 1})
		if err != nil || got.Words != 6 || got.Lines != 1 || !reflect.DeepEqual(got.Top, []WordFreq{{"a", 2}}) {
			t.Errorf("got %+v, %v", got, err)
		}
		if _, err := wordCount(ctx, WordCountArgs{Top: -1}); err == nil {
			t.Error("negative top accepted")
		}
	})
	t.Run("isprime", func(t *testing.T) {
		t.Parallel()
		for n, want := range map[uint64]bool{0: false, 1: false, 2: true, 91: false, 97: true} {
			if got, _ := isPrime(ctx, n); got != want {
				t.Errorf("isPrime(%d) = %v", n, got)
			}
		}
	})
	t.Run("countprimes", func(t *testing.T) {
		t.Parallel()
		if got, err := countPrimes(ctx, CountPrimesArgs{Below: 1_000_000}); err != nil || got != 78498 {
			t.Errorf("got %d, %v", got, err)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := countPrimes(cancelled, CountPrimesArgs{Below: 1 << 20}); err == nil {
			t.Error("cancelled count finished")
		}
	})
}
