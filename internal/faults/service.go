package faults

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// serviceProc is funcx-service as its own process: one database, one
// port kept across restarts, stderr appended to one log.
type serviceProc struct {
	bin, db, amqpURL, logPath string
	env                       []string
	addr                      string // host:port, fixed by the first start

	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	pids   []int         // of every start
}

// addUser adds an identity and returns its client ID and secret.
func (s *serviceProc) addUser(ctx context.Context, name string) (id, secret string, err error) {
	cmd := exec.CommandContext(ctx, s.bin, "--db="+s.db, "user", "add", name)
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", "", fmt.Errorf("funcx-service user add: %w\n%s", err, out)
	}
	return parseUserAdd(out)
}

// listeningRE finds the address in what `serve` prints once it listens.
var listeningRE = regexp.MustCompile(`http://(\S+)`)

var userAddRE = regexp.MustCompile(`export FUNCX_SDK_CLIENT_ID=(\S+) FUNCX_SDK_CLIENT_SECRET=(\S+)`)

// parseUserAdd reads the credentials `funcx-service user add` printed.
func parseUserAdd(out []byte) (id, secret string, err error) {
	m := userAddRE.FindSubmatch(out)
	if m == nil {
		return "", "", fmt.Errorf("funcx-service user add printed no credentials: %q", out)
	}
	return string(m[1]), string(m[2]), nil
}

// url is the service's base URL.
func (s *serviceProc) url() string { return "http://" + s.addr }

// start starts the service, on a free port the first time and on the
// same one after, and returns once it listens.
func (s *serviceProc) start(ctx context.Context) error {
	listen := s.addr
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	logf, err := os.OpenFile(s.logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	var lastErr error
	// The port of a killed service is free at once (SO_REUSEADDR); a
	// retry covers another program taking it in between, rarely.
	for attempt := range 5 {
		if attempt > 0 {
			time.Sleep(time.Second)
		}
		cmd := exec.Command(s.bin, "--db="+s.db, "--log-level=info", "serve", "--listen="+listen,
			"--amqp-url="+s.amqpURL, "--heartbeat-period=1s")
		cmd.Env = s.env
		cmd.Stderr = logf
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start funcx-service: %w", err)
		}
		exited := make(chan struct{})
		lines := bufio.NewScanner(stdout)
		first := make(chan string, 1)
		go func() {
			if lines.Scan() {
				first <- lines.Text()
			}
			close(first)
			_, _ = io.Copy(io.Discard, stdout)
			_ = cmd.Wait()
			close(exited)
		}()
		s.cmd, s.exited = cmd, exited
		s.pids = append(s.pids, cmd.Process.Pid)
		select {
		case line, ok := <-first:
			addr := listeningRE.FindStringSubmatch(line)
			if ok && addr != nil {
				if s.addr == "" { // later starts listen on it again
					s.addr = addr[1]
				}
				return nil
			}
			<-exited
			lastErr = fmt.Errorf("funcx-service exited (%v) before listening; see %s", cmd.ProcessState, s.logPath)
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("funcx-service did not listen within a minute; see %s", s.logPath)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			<-exited
			return ctx.Err()
		}
	}
	return lastErr
}

// running reports whether the last start is still running.
func (s *serviceProc) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// signal sends sig to the running service and waits up to within for it
// to exit; it reports whether it did.
func (s *serviceProc) signal(sig syscall.Signal, within time.Duration) bool {
	if !s.running() {
		return true
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.exited:
		return true
	case <-time.After(within):
		return false
	}
}

// stop stops the service gracefully, killing it after 30 s.
func (s *serviceProc) stop() error {
	if s.signal(syscall.SIGTERM, 30*time.Second) {
		return nil
	}
	s.signal(syscall.SIGKILL, 10*time.Second)
	return errors.New("funcx-service did not stop within 30 s of SIGTERM: killed")
}

// cleanEnv is this process's environment without funcX variables, HOME
// and TMPDIR, which each run sets for itself.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FUNCX_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "TMPDIR=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}
