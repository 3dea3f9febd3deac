package worker

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/funcx-go/funcx/internal/cpuprofile"
)

// The environment through which a manager starts a worker. Main reads
// these variables and removes them from its environment, so that the
// commands its tasks run do not mistake themselves for workers.
const (
	// EnvRole must be RoleWorker for Main to act.
	EnvRole = "FUNCX_ROLE"
	// RoleWorker is the value of EnvRole that makes a binary a worker.
	RoleWorker = "worker"
	// EnvWorkerID is the worker's index on its manager (a non-negative
	// integer); it defaults to 0.
	EnvWorkerID = "FUNCX_WORKER_ID"
	// EnvContainer is the container type the worker runs in; empty or
	// unset for plain processes.
	EnvContainer = "FUNCX_WORKER_CONTAINER"
	// EnvFD is the number of an inherited file descriptor that is the
	// worker's end of a connected stream socket (one end of a unix
	// socketpair passed as exec.Cmd.ExtraFiles[0], so "3").
	EnvFD = "FUNCX_WORKER_FD"
	// EnvAddr is an address to dial instead, "unix:/path/to.sock" or
	// "tcp:host:port", for workers that cannot inherit a descriptor (in a
	// container). EnvFD wins when both are set.
	EnvAddr = "FUNCX_WORKER_ADDR"
	// EnvLogLevel sets the level of the worker's log on stderr: debug,
	// info, warn (the default) or error.
	EnvLogLevel = "FUNCX_WORKER_LOG_LEVEL"
	// EnvPythonCommand is the interpreter of Python functions
	// (Config.PythonCommand); unset means DefaultPythonCommand.
	EnvPythonCommand = "FUNCX_PYTHON_COMMAND"
)

// dialTimeout bounds connecting to EnvAddr: a manager that is not
// listening is a start failure, not a hang.
const dialTimeout = 30 * time.Second

// Exit codes of Main.
const (
	exitOK       = 0
	exitServe    = 1 // the protocol broke: the manager counts a lost worker
	exitSettings = 2 // the environment is wrong: the manager's bug
)

// Main turns the calling program into a worker when the environment says
// so, and otherwise does nothing. Call it first thing in main:
//
//	func main() {
//		worker.Main() // returns at once unless FUNCX_ROLE=worker
//		// ... the program's normal work
//	}
//
// Any program that does this can serve as a worker binary: a custom worker
// that registers its own Go functions with Register before calling Main
// (point the endpoint's worker_command at it), or a program that re-executes
// itself (os.Executable) with FUNCX_ROLE=worker to get workers without a
// second binary.
//
// As a worker, Main reads EnvWorkerID, EnvContainer, EnvPythonCommand and
// EnvFD or EnvAddr, connects, runs Serve with DefaultRegistry until the
// manager sends Shutdown or closes the connection, and exits: status 0
// then, or on
// SIGTERM or SIGINT (after killing the task in flight); 1 with a message on
// stderr when the protocol breaks; 2 when the environment is wrong. Main
// never returns in a worker.
func Main() {
	if os.Getenv(EnvRole) != RoleWorker {
		return
	}
	stopProfile := cpuprofile.Start(RoleWorker)
	code := runWorker()
	stopProfile()
	os.Exit(code)
}

func runWorker() int {
	st, err := settingsFromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "funcx worker: %v\n", err)
		return exitSettings
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: st.logLevel}))
	conn, err := st.connect()
	if err != nil {
		fmt.Fprintf(os.Stderr, "funcx worker %d: %v\n", st.id, err)
		return exitSettings
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = Serve(ctx, conn, Config{WorkerID: st.id, Container: st.container, Logger: log, PythonCommand: st.python, ownProcess: true})
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "funcx worker %d: %v\n", st.id, err)
		return exitServe
	}
	return exitOK
}

// settings is what the manager told the worker through the environment.
type settings struct {
	id        int
	container string
	fd        int // -1 when addr is used
	addr      string
	logLevel  slog.Level
	python    string
}

// settingsFromEnv reads the worker's variables and unsets them.
func settingsFromEnv() (settings, error) {
	st := settings{fd: -1, container: os.Getenv(EnvContainer), logLevel: slog.LevelWarn, python: os.Getenv(EnvPythonCommand)}
	idText, fdText, addr, level := os.Getenv(EnvWorkerID), os.Getenv(EnvFD), os.Getenv(EnvAddr), os.Getenv(EnvLogLevel)
	for _, k := range []string{EnvRole, EnvWorkerID, EnvContainer, EnvFD, EnvAddr, EnvLogLevel, EnvPythonCommand} {
		os.Unsetenv(k)
	}
	var err error
	if idText != "" {
		if st.id, err = strconv.Atoi(idText); err != nil || st.id < 0 {
			return st, fmt.Errorf("%s=%q: want a non-negative integer", EnvWorkerID, idText)
		}
	}
	if level != "" {
		if err := st.logLevel.UnmarshalText([]byte(level)); err != nil {
			return st, fmt.Errorf("%s=%q: want debug, info, warn or error", EnvLogLevel, level)
		}
	}
	switch {
	case fdText != "":
		if st.fd, err = strconv.Atoi(fdText); err != nil || st.fd < 3 {
			return st, fmt.Errorf("%s=%q: want an inherited descriptor number of 3 or more", EnvFD, fdText)
		}
	case addr != "":
		st.addr = addr
	default:
		return st, fmt.Errorf("%s=%s but neither %s nor %s is set: the manager must pass a connection", EnvRole, RoleWorker, EnvFD, EnvAddr)
	}
	return st, nil
}

// connect opens the connection to the manager.
func (st *settings) connect() (net.Conn, error) {
	if st.fd >= 0 {
		f := os.NewFile(uintptr(st.fd), "funcx-manager")
		// FileConn duplicates the descriptor (close-on-exec) into the
		// runtime's poller, which gives deadlines and a Close that
		// interrupts reads; the inherited one is closed so that no task
		// inherits the manager's connection.
		conn, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("use inherited descriptor %s=%d: %w", EnvFD, st.fd, err)
		}
		return conn, nil
	}
	network, address, ok := strings.Cut(st.addr, ":")
	if !ok || (network != "unix" && network != "tcp") || address == "" {
		return nil, fmt.Errorf("%s=%q: want unix:/path/to.sock or tcp:host:port", EnvAddr, st.addr)
	}
	conn, err := net.DialTimeout(network, address, dialTimeout)
	if err != nil {
		return nil, fmt.Errorf("dial manager at %s: %w", st.addr, err)
	}
	return conn, nil
}
