package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/funcx-go/funcx/endpoint/profile"
	"github.com/funcx-go/funcx/internal/cli"
)

type listCmd struct {
	JSON bool `name:"json" help:"Print a JSON array of {name, status, endpoint_id, pid} instead of the table."`
}

func (c *listCmd) Run(e *env) error {
	statuses, broken, err := e.statuses()
	if err != nil {
		return err
	}
	if c.JSON {
		enc := json.NewEncoder(e.Sys.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(statuses)
	} else {
		err = writeTable(e.Sys.Stdout, [3]string{"Endpoint Name", "Status", "Endpoint ID"}, rows(statuses))
	}
	if err == nil && broken {
		err = &cli.ExitStatus{Code: cli.ExitError}
	}
	return err
}

// statuses returns the status of every profile in the home; one broken
// profile is reported without hiding the others (broken).
func (e *env) statuses() (statuses []*profile.Status, broken bool, err error) {
	home, err := e.Home()
	if err != nil {
		return nil, false, err
	}
	names, err := profile.List(home)
	if err != nil {
		return nil, false, err
	}
	statuses = make([]*profile.Status, 0, len(names))
	for _, name := range names {
		p, err := profile.New(home, name)
		if err == nil {
			var st profile.Status
			if st, err = p.Status(); err == nil {
				statuses = append(statuses, &st)
				continue
			}
		}
		fmt.Fprintf(e.Sys.Stderr, "funcx-endpoint: endpoint %s: %v\n", name, err)
		broken = true
	}
	return statuses, broken, nil
}

// rows are the list table's rows.
func rows(statuses []*profile.Status) [][3]string {
	rows := make([][3]string, len(statuses))
	for i, st := range statuses {
		rows[i] = [3]string{st.Name, st.State.String(), st.EndpointID}
		if st.EndpointID == "" {
			rows[i][2] = "None"
		}
	}
	return rows
}

// writeTable writes funcX's endpoint table: each column as wide as its
// widest cell, headers centred, cells left-aligned, one space of padding
// inside every "|".
//
//	| Endpoint Name |   Status    |             Endpoint ID              |
//	| default       | Running     | 1e999502-b434-49a2-a2e0-d925383d2dd4 |
//	| gpu_cluster   | Initialized | None                                 |
func writeTable(w io.Writer, header [3]string, rows [][3]string) error {
	var width [3]int
	for i, h := range header {
		width[i] = len(h)
	}
	for _, r := range rows {
		for i, cell := range r {
			width[i] = max(width[i], len(cell))
		}
	}
	var b strings.Builder
	b.WriteString("|")
	for i, h := range header {
		left := (width[i] - len(h)) / 2
		fmt.Fprintf(&b, " %s%s%s |", strings.Repeat(" ", left), h, strings.Repeat(" ", width[i]-len(h)-left))
	}
	b.WriteString("\n")
	for _, r := range rows {
		b.WriteString("|")
		for i, cell := range r {
			fmt.Fprintf(&b, " %-*s |", width[i], cell)
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
