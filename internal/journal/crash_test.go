package journal

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
)

// The crash test runs this test binary as a child (see TestMain) that
// writes to a journal from several goroutines and prints, after each
// call returns, what that call made durable. The parent SIGKILLs it
// mid-way, reopens the journal and checks that everything reported is
// there. kill -9 keeps what reached the page cache, so this proves the
// ordering (a call returns only after its commit) and that the file opens
// cleanly after any interruption; it does not simulate power loss.
const (
	crashModeEnv  = "FUNCX_JOURNAL_CRASH_MODE"
	crashPathEnv  = "FUNCX_JOURNAL_CRASH_PATH"
	crashRoundEnv = "FUNCX_JOURNAL_CRASH_ROUND"

	crashWriters = 4
	crashBatch   = 16
)

// crashID is the deterministic ID of task i of writer w in round r, so the
// parent knows which IDs a report covers.
func crashID(round, w, i int) funcx.TaskID {
	var id funcx.TaskID
	id[0], id[1] = byte(round), byte(w)
	binary.BigEndian.PutUint64(id[2:], uint64(i))
	id[15] = 0xcc
	return id
}

func crashTasks(round, w, first int) []funcx.Task {
	tasks := sampleTasks(crashBatch)
	for k := range tasks {
		tasks[k].ID = crashID(round, w, first+k)
	}
	return tasks
}

// crashChild is the child's main. In mode "tasks" each writer only adds
// tasks; in mode "cycle" it adds tasks, records their results and
// confirms them. It reports "<step> <writer> <first>" after each call
// returns, step being T (tasks journaled), R (results stored) or C
// (confirmed); each call covers crashBatch IDs from first.
func crashChild(mode, path, roundArg string) int {
	round, _ := strconv.Atoi(roundArg)
	j, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	report := func(step string, w, first int) {
		mu.Lock()
		defer mu.Unlock()
		// One write(2) per line straight to the pipe: once it returns,
		// the parent will read the line even if we die next.
		_, _ = fmt.Fprintf(os.Stdout, "%s %d %d\n", step, w, first)
	}
	ctx := context.Background()
	deadline := time.Now().Add(time.Minute) // never outlive a parent that forgot us
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for first := 0; time.Now().Before(deadline); first += crashBatch {
				tasks := crashTasks(round, w, first)
				if _, err := j.AddTasks(ctx, tasks); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				report("T", w, first)
				if mode != "cycle" {
					continue
				}
				if _, err := j.AddResults(ctx, resultsFor(tasks)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				report("R", w, first)
				if err := j.Confirm(ctx, taskIDs(tasks)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				report("C", w, first)
			}
		})
	}
	wg.Wait()
	_ = j.Close()
	return 0
}

func TestCrash(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"tasks", "cycle"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "journal.db")
			// Rounds share the file: each one starts from a journal
			// that was killed mid-write.
			reported := map[funcx.TaskID]byte{} // ID -> furthest step reported
			for round := range 3 {
				killChild(t, mode, path, round, reported)
				checkAfterCrash(t, path, reported)
			}
		})
	}
}

// killChild runs one child, SIGKILLs it at a random moment once it has
// reported some progress, and records what it reported.
func killChild(t *testing.T, mode, path string, round int, reported map[funcx.TaskID]byte) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashModeEnv+"="+mode, crashPathEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := 200 + rand.IntN(400) // reported calls before the kill
	lines, killed := 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var step string
		var w, first int
		if _, err := fmt.Sscanf(sc.Text(), "%s %d %d", &step, &w, &first); err != nil {
			t.Fatalf("child printed %q: %v", sc.Text(), err)
		}
		for i := first; i < first+crashBatch; i++ {
			reported[crashID(round, w, i)] = step[0]
		}
		if lines++; lines == killAfter && !killed {
			// A random pause lands the kill anywhere in a commit.
			time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before the kill after %d reports: %v\n%s", lines, err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v\n%s", err, stderr.String())
	}
	t.Logf("round %d: killed after %d reports", round, lines)
}

// checkAfterCrash reopens the journal and checks every reported ID: a
// journaled task is in exactly one of pending, outbox or the done set; a
// stored result is in the outbox or confirmed; a confirmed one is done.
func checkAfterCrash(t *testing.T, path string, reported map[funcx.TaskID]byte) {
	t.Helper()
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer j.Close()
	pending, outbox := map[funcx.TaskID]bool{}, map[funcx.TaskID]bool{}
	for _, task := range mustPending(t, j) {
		pending[task.ID] = true
	}
	for _, r := range mustOutbox(t, j) {
		if pending[r.TaskID] {
			t.Fatalf("task %s is both pending and in the outbox", r.TaskID)
		}
		if outbox[r.TaskID] {
			t.Fatalf("task %s has two results in the outbox", r.TaskID)
		}
		outbox[r.TaskID] = true
	}
	var elsewhere []funcx.Task // reported, neither pending nor in the outbox: must be done
	for id, step := range reported {
		switch {
		case step == 'T' && (pending[id] || outbox[id]):
		case step == 'R' && outbox[id]:
		case step == 'R' && pending[id]:
			t.Fatalf("task %s: result reported stored, but the task is pending", id)
		case step == 'C' && (pending[id] || outbox[id]):
			t.Fatalf("task %s: reported confirmed, but pending=%v outbox=%v", id, pending[id], outbox[id])
		default:
			elsewhere = append(elsewhere, funcx.Task{ID: id})
		}
	}
	// A task in the done set is a duplicate; anything fresh was lost.
	fresh, err := j.AddTasks(context.Background(), elsewhere)
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range fresh {
		t.Errorf("task %s (reported %c) was lost", task.ID, reported[task.ID])
	}
	t.Logf("%d reported IDs: %d pending, %d in the outbox, %d done", len(reported), len(pending), len(outbox), len(elsewhere))
}
