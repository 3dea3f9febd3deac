package faults

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable prints rows as the fault matrix's table, with a footer
// saying how they were measured (cfg as Run used it, defaults filled).
func WriteTable(w io.Writer, rows []Row, cfg Config) error {
	cfg = cfg.WithDefaults()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FAULT\tRESULTS\tLOST\tDUPLICATES (SDK/service)\tRAN TWICE\tFAILED (kind)\tORPHANS\tRECOVERY s (next/rate)\tRUN s\tOK")
	for i := range rows {
		r := &rows[i]
		ok := "yes"
		if r.Check() != nil {
			ok = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%d/%d\t%s\t%s\t%s\t%s/%s\t%.0f\t%s\n",
			r.Fault.Describe(), Commas(r.Results), Commas(r.Tasks), Commas(r.Lost), r.DuplicateResults, r.ServiceDuplicates,
			Commas(r.RanTwice), r.FailedString(), r.Orphans, seconds(r.NextResult), seconds(r.RateBack), r.Seconds, ok)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, `
Each row: %s shell tasks (echo {i} >> a file, O_APPEND) through the Go SDK -> funcx-service -> RabbitMQ -> two endpoints
(funcx-endpoint start, local provider, %d workers each, prefetch_capacity %d), the fault struck once %.0f%% of the results were in.
max_retries_on_system_failure = %d: tasks lost with a killed worker or manager run again (else they fail with WorkerLost/ManagerLost, shown in FAILED).
LOST: submitted, never answered (after %s without a result). DUPLICATES: results the SDK received twice / results the service dropped as duplicates.
RAN TWICE: tasks that ran more than once (a killed daemon re-runs its journaled tasks). ORPHANS after stop: processes of the run,
RabbitMQ virtual hosts, queues, exchanges and users of the deleted endpoints, files in the processes' TMPDIR.
RECOVERY: seconds from the end of the fault (the kill; the start of the service, RabbitMQ or the endpoint again) to the next result
of the endpoints it struck / to the first 2 s window from then at half their rate before the fault or better. After a kill
only results of tasks started after it count (new work), after an outage every result (delivery).
The service and RabbitMQ were down %s and %s. OK: every task answered once, none lost or received twice, no orphans,
and results still to come when the fault ended (else it tested nothing).
`, Commas(cfg.Tasks), cfg.WorkersPerEndpoint, cfg.Prefetch, cfg.StrikeAt*100, cfg.MaxRetries, cfg.StallTimeout, cfg.ServiceDowntime, cfg.RabbitMQDowntime)
	if err != nil {
		return err
	}
	for i := range rows {
		for _, n := range rows[i].Notes {
			if _, err := fmt.Fprintf(w, "  %s: %s\n", rows[i].Fault, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// seconds formats a recovery time; -1 is "-".
func seconds(s float64) string {
	if s < 0 {
		return "-"
	}
	return strconv.FormatFloat(s, 'f', 1, 64)
}

// Commas formats n with thousands separators: 10,000.
func Commas(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
