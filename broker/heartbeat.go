package broker

import (
	"time"
	"unicode/utf8"
)

// Bounds of a HeartbeatDetail: a heartbeat is sent every heartbeat
// period, so it carries the problems worth showing, not every block's
// history. Trim applies them; the service applies them again to what it
// receives.
const (
	MaxBlockProblems    = 10
	MaxRoutingManagers  = 32
	MaxManagerContainer = 16
	MaxDetailMessage    = 512
	MaxBlockStates      = 16
)

// HeartbeatDetail is what an endpoint's status display shows beyond the
// counts: the state of its blocks, the last error a scheduler returned,
// and how container routing is doing.
type HeartbeatDetail struct {
	// Blocks counts the endpoint's blocks by state name ("pending",
	// "running", "failed", ...): those not yet ended and the latest ended
	// ones the endpoint remembers.
	Blocks map[string]int `json:"blocks,omitempty"`
	// BlockError is the last error a scheduler returned (a refused
	// submission, a failed status poll or cancel); nil if none.
	BlockError *BlockError `json:"block_error,omitempty"`
	// BlockProblems are the latest blocks with a message from the
	// scheduler (why one is pending or failed), newest last.
	BlockProblems []BlockProblem `json:"block_problems,omitempty"`
	// Routing are the container routing figures; nil when the managers
	// run no containers.
	Routing *Routing `json:"routing,omitempty"`
	// QuarantinedRecords counts the records of the endpoint's journal
	// that were damaged and set aside (their tasks failed); not zero
	// means its disk lost data.
	QuarantinedRecords int `json:"quarantined_records,omitempty"`
}

// BlockError is a scheduler's error and when the endpoint got it.
type BlockError struct {
	Message string    `json:"message"`
	Time    time.Time `json:"time,omitzero"`
	// Image is the container image whose blocks it concerns under hard
	// container routing; empty for the endpoint's own blocks.
	Image string `json:"image,omitempty"`
}

// BlockProblem is one block with the scheduler's last word on it.
type BlockProblem struct {
	Block   string `json:"block"`
	Image   string `json:"image,omitempty"`
	JobID   string `json:"job_id,omitempty"`
	State   string `json:"state"`
	Message string `json:"message"`
	// ExitCode is the job's exit code once it ended, if it had one.
	ExitCode int `json:"exit_code,omitempty"`
	// Time is when the block ended, or was submitted if it has not.
	Time time.Time `json:"time,omitzero"`
}

// Routing are the routing figures of the connected managers: their sum
// and each manager's.
type Routing struct {
	Total    RoutingFigures   `json:"total"`
	Managers []ManagerRouting `json:"managers,omitempty"`
}

// RoutingFigures count how tasks met containers: WarmHits ran in a
// container already running, ColdStarts are containers started, Switches
// containers evicted for another type, Retired idle containers stopped,
// StartFailures containers that failed before serving.
type RoutingFigures struct {
	WarmHits      int `json:"warm_hits"`
	ColdStarts    int `json:"cold_starts"`
	Switches      int `json:"switches"`
	Retired       int `json:"retired,omitempty"`
	StartFailures int `json:"start_failures,omitempty"`
}

// ManagerRouting is one manager's routing figures and its workers per
// container type.
type ManagerRouting struct {
	Manager string `json:"manager"`
	Block   string `json:"block,omitempty"`
	RoutingFigures
	Containers []ContainerWorkers `json:"containers,omitempty"`
}

// ContainerWorkers are a manager's workers of one container type ("" for
// workers without a container).
type ContainerWorkers struct {
	Container string `json:"container"`
	Workers   int    `json:"workers"`
	Idle      int    `json:"idle"`
}

// Trim returns d within the bounds above: the newest MaxBlockProblems
// problems, the first MaxRoutingManagers managers with at most
// MaxManagerContainer container types each, messages cut to
// MaxDetailMessage bytes. It copies what it cuts and never modifies d.
func (d HeartbeatDetail) Trim() HeartbeatDetail {
	if len(d.Blocks) > MaxBlockStates {
		kept := make(map[string]int, MaxBlockStates)
		for k, v := range d.Blocks {
			if len(kept) == MaxBlockStates {
				break
			}
			kept[k] = v
		}
		d.Blocks = kept
	}
	if e := d.BlockError; e != nil {
		d.BlockError = &BlockError{Message: cut(e.Message), Time: e.Time, Image: cut(e.Image)}
	}
	if len(d.BlockProblems) > 0 {
		ps := d.BlockProblems[max(0, len(d.BlockProblems)-MaxBlockProblems):]
		d.BlockProblems = make([]BlockProblem, len(ps))
		for i, p := range ps {
			p.Block, p.Image, p.JobID, p.State, p.Message = cut(p.Block), cut(p.Image), cut(p.JobID), cut(p.State), cut(p.Message)
			d.BlockProblems[i] = p
		}
	}
	if r := d.Routing; r != nil {
		t := &Routing{Total: r.Total}
		for _, m := range r.Managers[:min(len(r.Managers), MaxRoutingManagers)] {
			m.Manager, m.Block = cut(m.Manager), cut(m.Block)
			cs := m.Containers[:min(len(m.Containers), MaxManagerContainer)]
			m.Containers = make([]ContainerWorkers, len(cs))
			for i, c := range cs {
				c.Container = cut(c.Container)
				m.Containers[i] = c
			}
			t.Managers = append(t.Managers, m)
		}
		d.Routing = t
	}
	return d
}

// cut shortens s to MaxDetailMessage bytes, on a rune boundary, marking
// the cut with "…".
func cut(s string) string {
	if len(s) <= MaxDetailMessage {
		return s
	}
	n := MaxDetailMessage - len("…")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
