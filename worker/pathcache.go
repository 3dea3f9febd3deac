package worker

import (
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// pathCache remembers where commands named without a slash were found on
// PATH, as a shell's command hash does. Without it every shell task pays
// for os/exec's PATH search: a stat of each PATH directory until the
// command is found, about a sixth of a worker's CPU time on `true`. An
// entry is forgotten when starting its command fails, so a program that
// moved or was removed is searched for afresh.
//
// The worker's own PATH is what os/exec searches (a task's Env does not
// change it), and it does not change while the worker runs, so the name
// alone is the key.
type pathCache struct {
	mu    sync.Mutex
	paths map[string]string
}

// command is exec.Command(name, args...), with the PATH search skipped
// when name's path is known. cached reports whether it was.
func (c *pathCache) command(name string, args []string) (cmd *exec.Cmd, cached bool) {
	if strings.ContainsRune(name, '/') {
		return exec.Command(name, args...), false
	}
	c.mu.Lock()
	path, ok := c.paths[name]
	c.mu.Unlock()
	if !ok {
		return exec.Command(name, args...), false
	}
	cmd = exec.Command(path, args...)
	cmd.Args[0] = name // what the program sees, as if searched for
	return cmd, true
}

// started records where name was found by a command that started.
func (c *pathCache) started(name string, cmd *exec.Cmd) {
	if strings.ContainsRune(name, '/') || !filepath.IsAbs(cmd.Path) {
		return // a relative result (a "." in PATH) depends on the directory
	}
	c.mu.Lock()
	if c.paths == nil {
		c.paths = make(map[string]string)
	}
	c.paths[name] = cmd.Path
	c.mu.Unlock()
}

// forget drops name, whose remembered path failed to start.
func (c *pathCache) forget(name string) {
	c.mu.Lock()
	delete(c.paths, name)
	c.mu.Unlock()
}
