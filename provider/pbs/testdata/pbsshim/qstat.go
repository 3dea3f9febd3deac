package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const pbsVersion = "2021.1.3.20220217134230"

// pbsTime is PBS's time format in qstat -f.
const pbsTime = "Mon Jan _2 15:04:05 2006"

func qstat(args []string) int {
	var history, full bool
	format := ""
	var ids []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "-x":
			history = true
		case a == "-f":
			full = true
		case a == "-F":
			if i+1 == len(args) {
				fmt.Fprintln(os.Stderr, "qstat: option requires an argument -- 'F'")
				return exitUsage
			}
			i++
			format = args[i]
		case strings.HasPrefix(a, "-"):
			fmt.Fprintf(os.Stderr, "qstat: invalid option -- '%s'\n", strings.TrimPrefix(a, "-"))
			return exitUsage
		default:
			ids = append(ids, a)
		}
	}
	if !full || format != "json" {
		// The shim models what the provider runs, nothing else.
		fmt.Fprintln(os.Stderr, "qstat: this shim only implements qstat [-x] -f -F json ID...")
		return exitUsage
	}
	srv, err := openServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "qstat: %v\n", err)
		return 1
	}
	defer srv.close()
	code := 0
	var found []*job
	for _, id := range ids {
		j, err := srv.load(id)
		switch {
		case errors.Is(err, errIllegalID):
			fmt.Fprintf(os.Stderr, "qstat: illegally formed job identifier: %s\n", id)
			code = exitIllegalID
		case err != nil:
			fmt.Fprintf(os.Stderr, "qstat: %v\n", err)
			code = 1
		case j == nil:
			fmt.Fprintf(os.Stderr, "qstat: Unknown Job Id %s\n", id)
			code = exitUnknownJob
		case j.State == "F" && !history:
			fmt.Fprintf(os.Stderr, "qstat: %s Job has finished, use -x or -H to obtain historical job information\n", j.id())
			code = exitHistJob
		default:
			found = append(found, j)
		}
	}
	if len(found) > 0 {
		os.Stdout.WriteString(render(found))
	}
	return code
}

// field is one attribute: a JSON value already encoded, or a nested
// object.
type field struct {
	key    string
	value  string
	object []field
}

func str(k, v string) field { return field{key: k, value: quote(v)} }
func num(k string, v int64) field {
	return field{key: k, value: strconv.FormatInt(v, 10)}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// render prints jobs as qstat -f -F json does: four-space indents, no
// space after the colon, attributes in the server's order.
func render(jobs []*job) string {
	var b strings.Builder
	now := time.Now()
	host, _ := os.Hostname()
	top := []field{
		num("timestamp", now.Unix()),
		str("pbs_version", pbsVersion),
		str("pbs_server", serverName),
	}
	var js []field
	for _, j := range jobs {
		js = append(js, field{key: j.id(), object: attributes(j, host, now)})
	}
	top = append(top, field{key: "Jobs", object: js})
	writeObject(&b, top, 0)
	b.WriteString("\n")
	return b.String()
}

func writeObject(b *strings.Builder, fields []field, depth int) {
	b.WriteString("{\n")
	for i, f := range fields {
		b.WriteString(strings.Repeat("    ", depth+1))
		b.WriteString(quote(f.key))
		b.WriteString(":")
		if f.object != nil {
			writeObject(b, f.object, depth+1)
		} else {
			b.WriteString(f.value)
		}
		if i < len(fields)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString(strings.Repeat("    ", depth))
	b.WriteString("}")
}

func attributes(j *job, host string, now time.Time) []field {
	f := []field{str("Job_Name", j.Name), str("Job_Owner", j.Owner)}
	if j.State != "Q" {
		end := now
		if !j.ETime.IsZero() {
			end = j.ETime
		}
		used := int64(end.Sub(j.STime) / time.Second)
		f = append(f, field{key: "resources_used", object: []field{
			num("cpupercent", 0), str("cput", "00:00:00"), str("mem", "0kb"),
			num("ncpus", 1), str("vmem", "0kb"), str("walltime", formatHMS(used)),
		}})
	}
	f = append(f,
		str("job_state", j.State), str("queue", j.Queue), str("server", serverName),
		str("Checkpoint", "u"), str("ctime", j.CTime.Format(pbsTime)),
		str("Error_Path", host+":"+j.ErrPath))
	if j.State != "Q" {
		f = append(f, str("exec_host", host+"/0"), str("exec_vnode", "("+host+":ncpus=1)"))
	}
	rerun := "False"
	if j.Rerunable {
		rerun = "True"
	}
	f = append(f,
		str("Hold_Types", "n"), str("Join_Path", "n"), str("Keep_Files", "n"), str("Mail_Points", "a"),
		str("mtime", j.MTime.Format(pbsTime)), str("Output_Path", host+":"+j.OutPath),
		num("Priority", 0), str("qtime", j.CTime.Format(pbsTime)), str("Rerunable", rerun))
	nodes := j.Select
	if n, _, ok := strings.Cut(j.Select, ":"); ok {
		nodes = n
	}
	nodect, _ := strconv.ParseInt(nodes, 10, 64)
	rl := []field{num("ncpus", 1), num("nodect", max(nodect, 1))}
	place := j.Place
	if place == "" {
		place = "pack"
	}
	rl = append(rl, str("place", place), str("select", j.Select))
	if j.Walltime > 0 {
		rl = append(rl, str("walltime", formatHMS(j.Walltime)))
	}
	f = append(f, field{key: "Resource_List", object: rl})
	if j.Account != "" {
		f = append(f, str("Account_Name", j.Account))
	}
	if !j.STime.IsZero() {
		f = append(f, str("stime", j.STime.Format(pbsTime)), num("session_id", int64(j.PGID)))
	}
	home, _ := os.UserHomeDir()
	f = append(f, str("jobdir", home), num("substate", substate(j)),
		field{key: "Variable_List", object: []field{
			str("PBS_O_HOME", home), str("PBS_O_WORKDIR", j.WorkDir), str("PBS_O_SYSTEM", "Linux"),
			str("PBS_O_QUEUE", j.Queue), str("PBS_O_HOST", host),
		}})
	if j.Comment != "" {
		f = append(f, str("comment", j.Comment))
	}
	f = append(f, str("etime", j.CTime.Format(pbsTime)))
	if !j.STime.IsZero() {
		f = append(f, num("run_count", 1))
	}
	if j.ExitStatus != nil {
		f = append(f, num("Stageout_status", 1), num("Exit_status", int64(*j.ExitStatus)))
	}
	f = append(f, str("Submit_arguments", j.SubmitArgs))
	if j.State == "F" {
		f = append(f, num("history_timestamp", j.ETime.Unix()))
	}
	f = append(f, str("project", "_pbs_project_default"))
	return f
}

// substate is PBS's finer state number for the job's state letter.
func substate(j *job) int64 {
	switch j.State {
	case "Q":
		return 10
	case "R":
		return 42
	case "E":
		return 51
	}
	return 92
}

func qdel(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: qdel [-W force|suppress_email=X] [-x] [-Wsuppress_email=<N>] job_identifier...")
		fmt.Fprintln(os.Stderr, "       qdel --version")
		return exitUsage
	}
	srv, err := openServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "qdel: %v\n", err)
		return 1
	}
	defer srv.close()
	code := 0
	for _, id := range args {
		j, err := srv.load(id)
		switch {
		case errors.Is(err, errIllegalID):
			fmt.Fprintf(os.Stderr, "qdel: illegally formed job identifier: %s\n", id)
			code = exitIllegalID
		case err != nil:
			fmt.Fprintf(os.Stderr, "qdel: %v\n", err)
			code = 1
		case j == nil:
			fmt.Fprintf(os.Stderr, "qdel: Unknown Job Id %s\n", id)
			code = exitUnknownJob
		case j.State == "F":
			fmt.Fprintf(os.Stderr, "qdel: Job has finished %s\n", id)
			code = exitHistJob
		case j.State == "Q":
			j.State, j.ETime = "F", time.Now()
			j.Comment = "Job deleted from queue"
			if err := srv.save(j); err != nil {
				fmt.Fprintf(os.Stderr, "qdel: %v\n", err)
				code = 1
			}
		case !j.DeleteAt.IsZero():
			// Already being deleted: PBS accepts the repeat.
		default:
			j.DeleteAt = time.Now()
			if err := srv.save(j); err != nil {
				fmt.Fprintf(os.Stderr, "qdel: %v\n", err)
				code = 1
				continue
			}
			_ = syscall.Kill(-j.PGID, syscall.SIGTERM)
		}
	}
	return code
}
