package pbs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// maxJobNameLen is PBS Pro's limit on Job_Name.
const maxJobNameLen = 236

// jobScript renders the submit script of a job (defaulted and validated)
// whose output goes to outPath and errPath.
func jobScript(shell string, j provider.Job, outPath, errPath string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!%s\n", shell)
	fmt.Fprintf(&b, "#PBS -N %s\n", jobName(j.Name))
	fmt.Fprintf(&b, "#PBS -l select=%s\n", selectStatement(j))
	if j.Walltime > 0 {
		fmt.Fprintf(&b, "#PBS -l walltime=%s\n", formatWalltime(j.Walltime))
	}
	if j.Exclusive {
		b.WriteString("#PBS -l place=excl\n")
	}
	if j.Queue != "" {
		fmt.Fprintf(&b, "#PBS -q %s\n", j.Queue)
	}
	if j.Account != "" {
		fmt.Fprintf(&b, "#PBS -A %s\n", j.Account)
	}
	fmt.Fprintf(&b, "#PBS -o %s\n", outPath)
	fmt.Fprintf(&b, "#PBS -e %s\n", errPath)
	// Not rerunnable: a block that dies with its node is replaced by the
	// scaler, not restarted behind its back with a stale secret.
	b.WriteString("#PBS -r n\n")
	// PBS runs the script with the user's login shell unless told
	// otherwise, and the launchers need bash.
	fmt.Fprintf(&b, "#PBS -S %s\n", shell)
	if opts := strings.TrimSpace(j.SchedulerOptions); opts != "" {
		b.WriteString(opts)
		b.WriteString("\n")
	}
	b.WriteString("\n")
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		fmt.Fprintf(&b, "export %s=%s\n", k, provider.ShellQuote(j.Env[k]))
	}
	b.WriteString(j.Script())
	return b.String()
}

// checkDirectiveValues refuses values that would break out of their
// #PBS line or be split by qsub: PBS offers no quoting there.
func checkDirectiveValues(j provider.Job, paths ...string) error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"Queue", j.Queue}, {"Account", j.Account}, {"ScriptDir", j.ScriptDir},
	} {
		if strings.ContainsAny(f.value, " \t\r\n") {
			errs = append(errs, fmt.Errorf("%s %q must not contain white space: it goes into a #PBS directive", f.name, f.value))
		}
	}
	for _, p := range paths {
		if strings.ContainsAny(p, " \t\r\n") {
			errs = append(errs, fmt.Errorf("path %q must not contain white space: it goes into a #PBS directive", p))
		}
	}
	return errors.Join(errs...)
}

// selectStatement is the value of -l select: one chunk per node, with
// the cores, managers, memory and GPUs each node needs. ncpus defaults to
// one per manager, PBS's own default being one per chunk.
func selectStatement(j provider.Job) string {
	ncpus := j.CoresPerNode
	if ncpus <= 0 {
		ncpus = j.TasksPerNode
	}
	s := fmt.Sprintf("%d:ncpus=%d", j.Nodes, ncpus)
	if j.TasksPerNode > 1 {
		// mpiprocs fills $PBS_NODEFILE with one line per manager, which is
		// what mpiexec reads.
		s += fmt.Sprintf(":mpiprocs=%d", j.TasksPerNode)
	}
	if j.MemoryPerNode > 0 {
		s += ":mem=" + formatSize(j.MemoryPerNode)
	}
	if j.GPUsPerNode > 0 {
		s += fmt.Sprintf(":ngpus=%d", j.GPUsPerNode)
	}
	return s
}

// formatSize writes bytes in PBS's size units (kb = 1024 bytes), using
// the largest unit that keeps the value exact.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"tb", 40}, {"gb", 30}, {"mb", 20}, {"kb", 10}} {
		if n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.suffix)
		}
	}
	return fmt.Sprintf("%db", n)
}

// formatWalltime writes a duration as HH:MM:SS (hours may exceed 24),
// rounding up to whole seconds so that a limit is never shortened.
func formatWalltime(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}

// jobName makes a PBS Pro job name of name: letters, digits, '.', '_'
// and '-' only, starting with a letter, at most maxJobNameLen long.
func jobName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '_'
		}
	}
	s := string(b)
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		s = "j" + s
	}
	if len(s) > maxJobNameLen {
		s = s[:maxJobNameLen]
	}
	return s
}
