package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// job is the server's record of one job.
type job struct {
	Seq        int       `json:"seq"`
	Name       string    `json:"name"`
	Owner      string    `json:"owner"`
	Queue      string    `json:"queue"`
	Account    string    `json:"account,omitempty"`
	State      string    `json:"state"` // Q, R, E, F
	Shell      string    `json:"shell"`
	Script     string    `json:"script"` // the server's copy
	OutPath    string    `json:"out_path"`
	ErrPath    string    `json:"err_path"`
	Select     string    `json:"select"`
	Place      string    `json:"place,omitempty"`
	Walltime   int64     `json:"walltime,omitempty"` // seconds; 0: none
	Rerunable  bool      `json:"rerunable"`
	SubmitArgs string    `json:"submit_args"`
	WorkDir    string    `json:"workdir"`
	CTime      time.Time `json:"ctime"`
	STime      time.Time `json:"stime"`
	MTime      time.Time `json:"mtime"`
	ETime      time.Time `json:"etime"` // when it ended
	MomPID     int       `json:"mom_pid,omitempty"`
	PGID       int       `json:"pgid,omitempty"`
	DeleteAt   time.Time `json:"delete_at"` // qdel's SIGTERM
	ExitStatus *int      `json:"exit_status,omitempty"`
	Comment    string    `json:"comment,omitempty"`
}

func (j *job) id() string { return strconv.Itoa(j.Seq) + "." + serverName }

// server is the state directory, locked for each read-modify-write.
type server struct {
	dir  string
	lock *os.File
}

func openServer() (*server, error) {
	dir := os.Getenv("PBS_SHIM_STATE")
	if dir == "" {
		return nil, errors.New("cannot connect to server " + serverName + " (errno=15010): PBS_SHIM_STATE is not set")
	}
	if err := os.MkdirAll(filepath.Join(dir, "jobs"), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return &server{dir: dir, lock: f}, nil
}

func (s *server) close() { s.lock.Close() } // closing releases the flock

func (s *server) nextSeq() (int, error) {
	path := filepath.Join(s.dir, "seq")
	b, err := os.ReadFile(path)
	n := 0
	if err == nil {
		n, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	} else if !errors.Is(err, os.ErrNotExist) {
		return 0, err
	}
	n++
	return n, os.WriteFile(path, []byte(strconv.Itoa(n)), 0o600)
}

func (s *server) jobPath(seq int) string {
	return filepath.Join(s.dir, "jobs", strconv.Itoa(seq)+".json")
}

// load returns the job a full or short ID names: nil, nil if there is
// none; an error if id is not a job ID at all.
func (s *server) load(id string) (*job, error) {
	seqStr, host, hasHost := strings.Cut(id, ".")
	seq, err := strconv.Atoi(seqStr)
	if err != nil || seq <= 0 || hasHost && host == "" {
		return nil, errIllegalID
	}
	if hasHost && host != serverName {
		return nil, nil
	}
	b, err := os.ReadFile(s.jobPath(seq))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var j job
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("job %d: %w", seq, err)
	}
	return &j, nil
}

var errIllegalID = errors.New("illegally formed job identifier")

func (s *server) save(j *job) error {
	j.MTime = time.Now()
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	tmp := s.jobPath(j.Seq) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.jobPath(j.Seq))
}

// envDuration reads a duration from the environment.
func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}
