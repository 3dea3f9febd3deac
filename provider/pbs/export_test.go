package pbs

import "github.com/funcx-go/funcx/provider"

// Internals exposed to the external tests.
var (
	JobScript        = jobScript
	ParseQsub        = parseQsub
	ParseQstatErrors = parseQstatErrors
	QdelErrors       = qdelErrors
	ParseWalltime    = parseWalltime
	FormatSize       = formatSize
	FormatWalltime   = formatWalltime
	JobName          = jobName
)

// QstatJob is the parsed form of one job, for tests.
type QstatJob = qstatJob

// ParseQstat decodes qstat's JSON.
func ParseQstat(b []byte) (map[string]QstatJob, error) { return parseQstat(b) }

// JobStatus maps a parsed job with the given stderr tail.
func JobStatus(id provider.JobID, j QstatJob, cancelled bool, tail string) provider.JobStatus {
	return jobStatus(id, j, cancelled, func() string { return tail })
}
