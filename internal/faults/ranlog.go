package faults

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
)

// countRuns reads the record of executions, one task index a line, and
// returns how many tasks ran more than once. A line that is not an index
// of the run (a torn write) is an error: the record would not be the
// truth.
func countRuns(r io.Reader, tasks int) (ranTwice int, err error) {
	runs := make(map[int]int)
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		i, err := strconv.Atoi(string(b))
		if err != nil || i < 0 || i >= tasks {
			return 0, fmt.Errorf("record of executions, line %d: %q is not a task index below %d", line, b, tasks)
		}
		runs[i]++
		if runs[i] == 2 {
			ranTwice++
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("record of executions: %w", err)
	}
	return ranTwice, nil
}
