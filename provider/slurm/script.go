package slurm

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/funcx-go/funcx/provider"
)

// scriptTemplate is the sbatch script of a block. sbatch reads "#SBATCH"
// lines up to the first command, so the job's own SchedulerOptions come
// last among them: where they repeat an option, the later one wins.
var scriptTemplate = template.Must(template.New("sbatch").Parse(`#!/bin/bash
#SBATCH --job-name={{.Name}}
#SBATCH --output={{.Output}}
#SBATCH --error={{.Error}}
#SBATCH --nodes={{.Nodes}}
#SBATCH --ntasks-per-node={{.TasksPerNode}}
{{- if .Time}}
#SBATCH --time={{.Time}}
{{- end}}
{{- if .Partition}}
#SBATCH --partition={{.Partition}}
{{- end}}
{{- if .Account}}
#SBATCH --account={{.Account}}
{{- end}}
{{- if .QOS}}
#SBATCH --qos={{.QOS}}
{{- end}}
{{- if .Constraint}}
#SBATCH --constraint={{.Constraint}}
{{- end}}
{{- if .Exclusive}}
#SBATCH --exclusive
{{- end}}
{{- if .CPUsPerTask}}
#SBATCH --cpus-per-task={{.CPUsPerTask}}
{{- end}}
{{- if .MemoryMB}}
#SBATCH --mem={{.MemoryMB}}M
{{- end}}
{{- if .GPUs}}
#SBATCH --gpus-per-node={{.GPUs}}
{{- end}}
{{- if .Comment}}
#SBATCH --comment={{.Comment}}
{{- end}}
{{- if .SchedulerOptions}}
{{.SchedulerOptions}}
{{- end}}

# Written by funcx for block {{.BlockID}}.
{{- range .Env}}
export {{.}}
{{- end}}

{{.Body -}}
`))

// scriptData is what scriptTemplate fills in; every directive value is
// already quoted for sbatch's directive parser.
type scriptData struct {
	BlockID          string
	Name             string
	Output, Error    string
	Nodes            int
	TasksPerNode     int
	Time             string
	Partition        string
	Account          string
	QOS              string
	Constraint       string
	Exclusive        bool
	CPUsPerTask      int
	MemoryMB         int64
	GPUs             int
	Comment          string
	SchedulerOptions string
	Env              []string // NAME=quoted-value, sorted
	Body             string
}

// Script renders the sbatch script of j, which must have been defaulted
// and validated, writing its output to dir. The job's stdout and stderr
// files are named with Slurm's %j (the job ID), so that runs reusing a
// ScriptDir do not overwrite each other's.
func Script(j provider.Job, dir string) (string, error) {
	d := scriptData{
		BlockID:          j.BlockID,
		Name:             j.Name,
		Output:           filepath.Join(dir, j.Name+".%j.out"),
		Error:            filepath.Join(dir, j.Name+".%j.err"),
		Nodes:            j.Nodes,
		TasksPerNode:     j.TasksPerNode,
		Time:             FormatWalltime(j.Walltime),
		Partition:        j.Partition,
		Account:          j.Account,
		QOS:              j.QOS,
		Constraint:       j.Constraint,
		Exclusive:        j.Exclusive,
		GPUs:             j.GPUsPerNode,
		Comment:          labelsComment(j.Labels),
		SchedulerOptions: strings.TrimSpace(j.SchedulerOptions),
		Body:             j.Script(),
	}
	if j.CoresPerNode > 0 {
		// Slurm allocates CPUs per task; the managers of a node share
		// its cores, rounded down so the request fits the node.
		d.CPUsPerTask = max(j.CoresPerNode/j.TasksPerNode, 1)
	}
	if j.MemoryPerNode > 0 {
		d.MemoryMB = (j.MemoryPerNode + 1<<20 - 1) >> 20 // whole MiB, rounded up
	}
	for _, f := range []struct {
		key string
		v   *string
	}{
		{"Name", &d.Name}, {"output file", &d.Output}, {"error file", &d.Error},
		{"Partition", &d.Partition}, {"Account", &d.Account}, {"QOS", &d.QOS},
		{"Constraint", &d.Constraint}, {"Labels", &d.Comment},
	} {
		q, err := directiveValue(*f.v)
		if err != nil {
			return "", fmt.Errorf("%s: %w", f.key, err)
		}
		*f.v = q
	}
	for _, k := range slices.Sorted(maps.Keys(j.Env)) {
		d.Env = append(d.Env, k+"="+provider.ShellQuote(j.Env[k]))
	}
	var b strings.Builder
	if err := scriptTemplate.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render sbatch script: %w", err)
	}
	return b.String(), nil
}

// directiveValue quotes v for an "#SBATCH --opt=v" line. sbatch splits
// directives at white space outside double quotes and has no escape for
// a double quote, so values with white space are double-quoted and
// values with a double quote or a line break (which would end the
// directive and start another) are refused.
func directiveValue(v string) (string, error) {
	if strings.ContainsAny(v, "\"\n\r") {
		return "", fmt.Errorf("%q must not contain a double quote or a line break", v)
	}
	if strings.ContainsAny(v, " \t") {
		return `"` + v + `"`, nil
	}
	return v, nil
}

// labelsComment renders labels as the job's comment, "k=v,k=v" sorted,
// so that the jobs of a run can be found with squeue.
func labelsComment(labels map[string]string) string {
	parts := make([]string, 0, len(labels))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// FormatWalltime renders d as Slurm's D-HH:MM:SS, rounding up to the
// second; zero renders as "" (no --time, the partition's default).
// Slurm itself rounds time limits up to whole minutes.
func FormatWalltime(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	s := int64((d + time.Second - 1) / time.Second)
	return fmt.Sprintf("%d-%02d:%02d:%02d", s/86400, s/3600%24, s/60%60, s%60)
}
