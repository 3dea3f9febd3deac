package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/funcx-go/funcx/broker/membroker"
	"github.com/funcx-go/funcx/service"
	"github.com/funcx-go/funcx/service/api"
	"github.com/funcx-go/funcx/service/sqlitestore"
)

// The hostile phase measures the service's memory under many large
// requests at once: hostileBodies concurrent submissions of
// hostileBodyBytes each (10,000 tasks of 3 KiB arguments, for an
// endpoint that does not exist, so each is decoded whole and answered
// 404). The service runs in a child process, so that the figure is its
// peak RSS (VmHWM) alone; the baseline is the same attack on a service
// whose bound on body bytes in flight is raised until it bounds nothing.
const (
	hostileBodies    = 20
	hostileBodyBytes = 31 << 20
	hostileTasks     = 10_000
	// hostileRoleEnv makes this binary the child service; its value is
	// Config.MaxBodyBytesInFlight.
	hostileRoleEnv = "FUNCX_BENCH_HOSTILE_SERVICE"
)

// hostilePhase adds the hostile-rss row.
func (h *harness) hostilePhase(ctx context.Context) error {
	body := hostileBody()
	unbounded := int64(hostileBodies) * api.MaxRequestBytes
	var peaks [2]float64
	var answered [2]int
	for i, bound := range []int64{service.DefaultMaxBodyBytesInFlight, unbounded} {
		h.progress("hostile: %d concurrent %d MiB submissions, bytes in flight bounded to %d MiB", hostileBodies, hostileBodyBytes>>20, bound>>20)
		peak, idle, codes, err := hostileRound(ctx, bound, body)
		if err != nil {
			return fmt.Errorf("hostile, bound %d MiB: %w", bound>>20, err)
		}
		peaks[i] = peak
		for code, n := range codes {
			if code != 0 {
				answered[i] += n
			}
		}
		h.progress("hostile: bound %d MiB: peak RSS %.0f MB (idle %.0f MB); answers %s", bound>>20, peak, idle, formatCodes(codes))
	}
	h.add(row{
		Key:  "hostile-rss",
		Name: fmt.Sprintf("service peak RSS, %d concurrent %d MiB submissions, bound %d MiB", hostileBodies, hostileBodyBytes>>20, service.DefaultMaxBodyBytesInFlight>>20),
		Unit: "MB", Value: peaks[0], Rounds: []float64{peaks[0]},
		Baseline: fmt.Sprintf("same, bound raised to %d MiB (none in effect)", unbounded>>20), BaselineValue: peaks[1], BaselineRounds: []float64{peaks[1]},
		Tasks: hostileBodies, Returned: answered[0], BaselineReturned: answered[1],
	})
	return nil
}

// hostileBody is one submission of hostileBodyBytes.
func hostileBody() []byte {
	fn := uuid.NewString()
	task := `{"function_id":"` + fn + `","args":{"pad":"`
	per := hostileBodyBytes/hostileTasks - len(task) - len(`"}},`)
	pad := strings.Repeat("x", per)
	var b bytes.Buffer
	b.Grow(hostileBodyBytes)
	b.WriteString(`{"endpoint_id":"` + uuid.NewString() + `","tasks":[`)
	for i := range hostileTasks {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(task + pad + `"}}`)
	}
	b.WriteString("]}")
	for b.Len() < hostileBodyBytes {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// hostileRound starts a child service with the bound, fires the bodies at
// it at once, and returns its peak and idle RSS in MB and the answers'
// statuses (0: no answer).
func hostileRound(ctx context.Context, bound int64, body []byte) (peak, idle float64, codes map[int]int, err error) {
	child, err := startHostileChild(ctx, bound)
	if err != nil {
		return 0, 0, nil, err
	}
	defer func() { err = errors.Join(err, child.stop()) }()
	if idle, err = child.rssMB("VmRSS"); err != nil {
		return 0, 0, nil, err
	}
	tr := &http.Transport{MaxConnsPerHost: hostileBodies}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	codes = make(map[int]int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range hostileBodies {
		wg.Go(func() {
			code := 0
			req, err := http.NewRequestWithContext(ctx, "POST", child.url+api.PathTasks, bytes.NewReader(body))
			if err == nil {
				req.Header.Set("Authorization", "Bearer "+child.token)
				req.Header.Set("Content-Type", "application/json")
				var resp *http.Response
				if resp, err = cl.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if peak, err = child.rssMB("VmHWM"); err != nil {
		return 0, 0, nil, err
	}
	return peak, idle, codes, nil
}

func formatCodes(codes map[int]int) string {
	var parts []string
	for _, code := range slices.Sorted(maps.Keys(codes)) {
		name := strconv.Itoa(code)
		if code == 0 {
			name = "no answer"
		}
		parts = append(parts, fmt.Sprintf("%s: %d", name, codes[code]))
	}
	return strings.Join(parts, ", ")
}

// hostileChild is the service in a child process.
type hostileChild struct {
	cmd        *exec.Cmd
	stdin      io.WriteCloser
	url, token string
}

// startHostileChild starts this binary as the child service and logs in.
func startHostileChild(ctx context.Context, bound int64) (*hostileChild, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), hostileRoleEnv+"="+strconv.FormatInt(bound, 10))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the child service: %w", err)
	}
	c := &hostileChild{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) != 3 {
		return nil, errors.Join(fmt.Errorf("the child service did not start: %q: %v", line, err), c.stop())
	}
	c.url = "http://" + f[0]
	if c.token, err = hostileToken(ctx, c.url, f[1], f[2]); err != nil {
		return nil, errors.Join(err, c.stop())
	}
	return c, nil
}

func hostileToken(ctx context.Context, url, id, secret string) (string, error) {
	j, _ := json.Marshal(api.TokenRequest{ClientID: id, ClientSecret: secret})
	req, err := http.NewRequestWithContext(ctx, "POST", url+api.PathToken, bytes.NewReader(j))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("log in to the child service: %w", err)
	}
	defer resp.Body.Close()
	var tok api.TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("log in to the child service: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken, nil
}

// rssMB reads a field of the child's /proc status (VmRSS, VmHWM) in MB.
func (c *hostileChild) rssMB(field string) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("read the child service's memory: %w", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024 / 1e6, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, c.cmd.Process.Pid)
}

// stop ends the child (closing its stdin asks it to stop) and waits.
func (c *hostileChild) stop() error {
	c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("the child service: %w", err)
		}
		return nil
	case <-time.After(30 * time.Second):
		c.cmd.Process.Kill()
		<-done
		return errors.New("the child service did not stop within 30s of its stdin closing: killed")
	}
}

// serveHostileChild runs the child service when this process is one; it
// does not return then.
func serveHostileChild() {
	v, ok := os.LookupEnv(hostileRoleEnv)
	if !ok {
		return
	}
	if err := runHostileChild(v); err != nil {
		fmt.Fprintln(os.Stderr, "bench: hostile child service:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runHostileChild serves the API on loopback with an in-process broker,
// prints "ADDR CLIENT_ID SECRET" and serves until its stdin closes.
func runHostileChild(boundArg string) (err error) {
	bound, err := strconv.ParseInt(boundArg, 10, 64)
	if err != nil {
		return fmt.Errorf("%s=%q: %w", hostileRoleEnv, boundArg, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "funcx-bench-hostile-")
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	st, err := sqlitestore.Open(ctx, sqlitestore.Config{Path: filepath.Join(dir, "service.db")})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, st.Close()) }()
	brk, err := membroker.New(membroker.Config{})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, brk.Close()) }()
	svc, err := service.New(service.Config{Store: st, Broker: brk, MaxBodyBytesInFlight: bound})
	if err != nil {
		return err
	}
	id, secret, err := svc.AddIdentity(ctx, "bench")
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("%s %s %s\n", ln.Addr(), id, secret)
	go func() {
		io.Copy(io.Discard, os.Stdin) // the parent closes it, or dies
		cancel()
	}()
	return svc.Serve(ctx, ln)
}
