package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/journal"
	"github.com/funcx-go/funcx/service/api"
)

// `funcx-endpoint stop` while two tasks run: one stop lets them finish,
// says what it waits for, and their results reach the service without
// another start; the journal is left empty and nothing runs.
func TestStopPublishesResultsOfTasksInFlight(t *testing.T) {
	t.Parallel()
	w := startWorld(t)
	w.configureWith(t, "max_workers_per_node = 2\nheartbeat_period = \"1s\"\nheartbeat_threshold = \"10s\"\n")
	s := w.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	naps := w.startNaps(ctx, t, s.endpointID, "3", 2)

	o := w.run(t, "stop")
	if o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	if !strings.Contains(o.stderr, "in flight to finish") {
		t.Errorf("stop did not say that it waits for the tasks in flight: %q", o.stderr)
	}
	if s.daemon.Alive() {
		t.Fatalf("daemon %d still runs after stop", s.daemon.PID)
	}
	if row := listRow(t, w.run(t, "list"), "default"); row[1] != "Stopped" {
		t.Fatalf("after stop: %q", row)
	}
	if left := profile.RunProcesses(s.runID); len(left) > 0 {
		t.Fatalf("processes of the run remain after stop: %v", left)
	}
	if pending, outbox := journalLeft(t, w.profile(t)); pending != 0 || outbox != 0 {
		t.Errorf("after stop the journal holds %d tasks without a result and %d unpublished results, want none", pending, outbox)
	}
	// No endpoint runs: the results came with the stop.
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	checkNaps(ctx, t, naps)
}

// A stop that cannot reach the broker (its connection cut while the
// tasks run) keeps their results in the outbox, says so in endpoint.log,
// and exits 0; the next start publishes them.
func TestStopWithoutBrokerKeepsResultsForTheNextStart(t *testing.T) {
	t.Parallel()
	target, err := url.Parse(rabbitURL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, target.Host)
	w := startWorld(t, "--endpoint-amqp-url=amqp://"+proxy.addr()+"/")
	w.configureWith(t, "max_workers_per_node = 2\nstop_grace = \"3s\"\nheartbeat_period = \"1s\"\nheartbeat_threshold = \"10s\"\n")
	s := w.start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	naps := w.startNaps(ctx, t, s.endpointID, "1", 2)

	proxy.cut()
	if o := w.run(t, "stop"); o.code != 0 || !strings.Contains(o.stdout, "stopped") {
		t.Fatalf("stop: %+v", o)
	}
	if pending, outbox := journalLeft(t, w.profile(t)); pending != 0 || outbox != 2 {
		t.Fatalf("after a stop without the broker the journal holds %d tasks without a result and %d unpublished results, want 0 and 2", pending, outbox)
	}
	log, err := os.ReadFile(w.profile(t).Path(profile.LogFile))
	if err != nil || !strings.Contains(string(log), "results stay in the outbox and are published at the next start") {
		t.Errorf("endpoint.log does not say that the results wait for the next start: %v\n%s", err, log)
	}
	for i, fu := range naps {
		select {
		case <-fu.Done():
			t.Fatalf("task %d has a result although the broker was cut", i)
		default:
		}
	}

	proxy.restore()
	w.start(t)
	checkNaps(ctx, t, naps)
	if o := w.run(t, "stop"); o.code != 0 {
		t.Fatalf("stop: %+v", o)
	}
	if pending, outbox := journalLeft(t, w.profile(t)); pending != 0 || outbox != 0 {
		t.Errorf("after the second stop the journal holds %d tasks and %d results, want none", pending, outbox)
	}
}

// startNaps submits n shell tasks to the endpoint that each create a
// marker file, sleep for seconds and print done-<i>, and returns once all
// n run.
func (w *bb) startNaps(ctx context.Context, t *testing.T, endpointID, seconds string, n int) []*client.Future {
	t.Helper()
	cl := w.client(t)
	markers := t.TempDir()
	fn, err := cl.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "nap", Kind: "shell",
		Script: "touch " + markers + "/started-{i}; sleep " + seconds + "; echo done-{i}"})
	if err != nil {
		t.Fatal(err)
	}
	ex := cl.Executor(endpointID)
	t.Cleanup(func() { ex.Close() })
	inputs := make([]any, n)
	for i := range inputs {
		inputs[i] = map[string]int{"i": i}
	}
	futures, err := ex.Map(ctx, fn, inputs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		marker := filepath.Join(markers, fmt.Sprintf("started-%d", i))
		if !eventually(2*time.Minute, func() bool { _, err := os.Stat(marker); return err == nil }) {
			t.Fatalf("task %d did not start", i)
		}
	}
	return futures
}

// checkNaps checks that the service has a successful result for each nap.
func checkNaps(ctx context.Context, t *testing.T, futures []*client.Future) {
	t.Helper()
	for i, fu := range futures {
		r, err := fu.Result(ctx)
		if err != nil {
			t.Fatalf("task %d: %v", i, err)
		}
		if r.State() != funcx.StateSuccess || string(r.Stdout()) != fmt.Sprintf("done-%d\n", i) {
			t.Fatalf("task %d: %s, stdout %q", i, r.State(), r.Stdout())
		}
	}
}

// journalLeft counts the tasks without a result and the results not
// confirmed by the broker in the profile's journal (no daemon may run).
func journalLeft(t *testing.T, p *profile.Profile) (pending, outbox int) {
	t.Helper()
	j, err := journal.Open(p.Path(profile.JournalFile), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	st := j.Stats()
	return st.Tasks, st.Outbox
}

// tcpProxy forwards TCP connections to a target; cut closes them and
// refuses new ones until restore, as a network failure would.
type tcpProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	isCut  bool
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refused := p.isCut
		p.mu.Unlock()
		if refused {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

// pipe copies from src to dst, then closes both.
func (p *tcpProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src) // ends when either side closes
	_ = dst.Close()
	_ = src.Close()
	p.mu.Lock()
	delete(p.conns, src)
	delete(p.conns, dst)
	p.mu.Unlock()
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	p.isCut = true
	conns := p.conns
	p.conns = map[net.Conn]struct{}{}
	p.mu.Unlock()
	for c := range conns {
		_ = c.Close()
	}
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.isCut = false
	p.mu.Unlock()
}
