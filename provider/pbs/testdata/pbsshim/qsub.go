package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const qsubUsage = `usage: qsub [-a date_time] [-A account_string] [-c interval]
	[-C directive_prefix] [-e path] [-f ] [-h ] [-I [-X]] [-j oe|eo] [-J X-Y[:Z]]
	[-k keep] [-l resource_list] [-m mail_options] [-M user_list]
	[-N jobname] [-o path] [-p priority] [-P project] [-q queue] [-r y|n]
	[-R o|e|oe] [-S path] [-u user_list] [-W otherattributes=value...]
	[-S path] [-u user_list] [-W otherattributes=value...]
	[-v variable_list] [-V ] [-z] [script | -- command [arg1 ...]]
       qsub --version
`

// request is what qsub's options and the script's directives ask for.
type request struct {
	name, queue, account, out, errPath, shell string
	resources                                 map[string]string
	rerunable                                 bool
}

func qsub(args []string) int {
	var cmdline request
	cmdline.resources = map[string]string{}
	rest, err := parseOptions(args, &cmdline)
	if err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n%s", err, qsubUsage)
		return exitUsage
	}
	if len(rest) != 1 {
		fmt.Fprint(os.Stderr, qsubUsage)
		return exitUsage
	}
	scriptPath := rest[0]
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		// strerror's wording, as PBS prints it.
		msg := err.Error()
		var errno syscall.Errno
		if errors.As(err, &errno) {
			msg = errno.Error()
		}
		fmt.Fprintf(os.Stderr, "qsub: script file:: %s\n", strings.ToUpper(msg[:1])+msg[1:])
		return 1
	}
	req := request{resources: map[string]string{}, rerunable: true, shell: "/bin/bash"}
	if err := parseDirectives(script, &req); err != nil {
		fmt.Fprintf(os.Stderr, "qsub: directive error: %v\n", err)
		return exitUsage
	}
	merge(&req, cmdline)
	if req.name == "" {
		req.name = filepath.Base(scriptPath)
	}
	if req.queue == "" {
		req.queue = "workq"
	}
	if !slices.Contains(append([]string{"workq"}, strings.Split(os.Getenv("PBS_SHIM_QUEUES"), ",")...), req.queue) {
		fmt.Fprintln(os.Stderr, "qsub: Unknown queue")
		return exitUnknownQue
	}
	var walltime int64
	if w, ok := req.resources["walltime"]; ok {
		if walltime, err = parseHMS(w); err != nil {
			fmt.Fprintln(os.Stderr, "qsub: illegal -l value")
			fmt.Fprint(os.Stderr, qsubUsage)
			return exitUsage
		}
	}
	sel := req.resources["select"]
	if sel == "" {
		sel = "1:ncpus=1"
	}
	wd, _ := os.Getwd()
	host, _ := os.Hostname()
	owner := "root"
	if u, err := user.Current(); err == nil {
		owner = u.Username
	}
	now := time.Now()

	srv, err := openServer()
	if err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n", err)
		return 1
	}
	defer srv.close()
	seq, err := srv.nextSeq()
	if err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n", err)
		return 1
	}
	// The server keeps its own copy: editing the file later changes
	// nothing, as with PBS.
	copyPath := filepath.Join(srv.dir, "jobs", strconv.Itoa(seq)+".SC")
	if err := os.WriteFile(copyPath, script, 0o700); err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n", err)
		return 1
	}
	j := &job{
		Seq: seq, Name: req.name, Owner: owner + "@" + host, Queue: req.queue, Account: req.account,
		State: "Q", Shell: req.shell, Script: copyPath,
		OutPath: defaultPath(req.out, wd, req.name, "o", seq), ErrPath: defaultPath(req.errPath, wd, req.name, "e", seq),
		Select: sel, Place: req.resources["place"], Walltime: walltime, Rerunable: req.rerunable,
		SubmitArgs: strings.Join(args, " "), WorkDir: wd, CTime: now,
	}
	if err := srv.save(j); err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n", err)
		return 1
	}
	// The MoM outlives qsub: a session of its own, no terminal, no pipes
	// to whoever ran qsub.
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n", err)
		return 1
	}
	mom := &exec.Cmd{Path: filepath.Join(filepath.Dir(exe), "pbs_mom"), Args: []string{"pbs_mom", strconv.Itoa(seq)}}
	mom.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := mom.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "qsub: start pbs_mom: %v\n", err)
		return 1
	}
	j.MomPID = mom.Process.Pid
	if err := srv.save(j); err != nil {
		fmt.Fprintf(os.Stderr, "qsub: %v\n", err)
		return 1
	}
	_ = mom.Process.Release()
	fmt.Println(j.id())
	return 0
}

// defaultPath is PBS's output path: the -o/-e value, or NAME.oSEQ in the
// submission directory.
func defaultPath(p, wd, name, kind string, seq int) string {
	if p == "" {
		return filepath.Join(wd, fmt.Sprintf("%s.%s%d", name, kind, seq))
	}
	if _, after, ok := strings.Cut(p, ":"); ok { // host:path
		p = after
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(wd, p)
	}
	return p
}

// parseDirectives reads the #PBS lines before the first command.
func parseDirectives(script []byte, req *request) error {
	sc := bufio.NewScanner(strings.NewReader(string(script)))
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first && strings.HasPrefix(line, "#!") {
			first = false
			continue
		}
		first = false
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break // PBS stops at the first command
		}
		d, ok := strings.CutPrefix(line, "#PBS")
		if !ok {
			continue
		}
		if _, err := parseOptions(strings.Fields(d), req); err != nil {
			return err
		}
	}
	return nil
}

// parseOptions reads qsub options into req and returns the arguments
// after them.
func parseOptions(args []string, req *request) ([]string, error) {
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		opt := args[0]
		value := ""
		if len(opt) > 2 { // -lwalltime=1:00
			value, opt = opt[2:], opt[:2]
			args = args[1:]
		} else {
			switch opt {
			case "-h", "-V", "-z", "-f", "-I", "-X":
				args = args[1:]
				continue
			}
			if len(args) < 2 {
				return nil, fmt.Errorf("option requires an argument -- '%s'", opt[1:])
			}
			value, args = args[1], args[2:]
		}
		switch opt {
		case "-N":
			req.name = value
		case "-q":
			req.queue = value
		case "-A":
			req.account = value
		case "-o":
			req.out = value
		case "-e":
			req.errPath = value
		case "-S":
			req.shell = value
		case "-r":
			req.rerunable = value == "y"
		case "-l":
			for _, kv := range strings.Split(value, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return nil, fmt.Errorf("illegal -l value")
				}
				req.resources[k] = v
			}
		case "-j", "-k", "-m", "-M", "-W", "-v", "-P", "-p", "-a", "-c", "-C", "-J", "-R", "-u":
			// Accepted and not modelled.
		default:
			return nil, fmt.Errorf("invalid option -- '%s'", opt[1:])
		}
	}
	return args, nil
}

// merge lets command-line options override the script's directives.
func merge(req *request, cmd request) {
	for _, f := range []struct{ dst, src *string }{
		{&req.name, &cmd.name}, {&req.queue, &cmd.queue}, {&req.account, &cmd.account},
		{&req.out, &cmd.out}, {&req.errPath, &cmd.errPath}, {&req.shell, &cmd.shell},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	for k, v := range cmd.resources {
		req.resources[k] = v
	}
}

// parseHMS reads [[HH:]MM:]SS.
func parseHMS(s string) (int64, error) {
	parts := strings.Split(s, ":")
	if len(parts) > 3 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	var total int64
	for _, p := range parts {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad duration %q", s)
		}
		total = total*60 + n
	}
	return total, nil
}

func formatHMS(secs int64) string {
	return fmt.Sprintf("%02d:%02d:%02d", secs/3600, secs/60%60, secs%60)
}
