package profile

import (
	"encoding/json"
	"fmt"
)

// State is an endpoint's state as funcx-endpoint list shows it.
type State int

const (
	// Initialized: configured, never registered with the service.
	Initialized State = iota
	// Running: a daemon holds the profile's lock.
	Running
	// Stopped: stopped by the user (or never started since registering).
	Stopped
	// Disconnected: the daemon died without stopping (crash, kill -9,
	// reboot); its processes and blocks may linger until a start or
	// stop cleans up.
	Disconnected
)

func (s State) String() string {
	switch s {
	case Initialized:
		return "Initialized"
	case Running:
		return "Running"
	case Stopped:
		return "Stopped"
	case Disconnected:
		return "Disconnected"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// MarshalText writes the state's name, for --json.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Status is a profile's state and what goes with it.
type Status struct {
	Name  string `json:"name"`
	State State  `json:"status"`
	// EndpointID is empty before the first registration.
	EndpointID string `json:"endpoint_id"`
	// PID is the daemon's process ID while Running, the dead daemon's
	// when Disconnected.
	PID int `json:"pid,omitempty"`
}

var _ json.Marshaler = (*Status)(nil)

// MarshalJSON writes endpoint_id as null before registration, like the
// list table's None.
func (s *Status) MarshalJSON() ([]byte, error) {
	type plain Status
	v := struct {
		*plain
		EndpointID *string `json:"endpoint_id"`
	}{plain: (*plain)(s)}
	if s.EndpointID != "" {
		v.EndpointID = &s.EndpointID
	}
	return json.Marshal(v)
}

// Status works out the profile's state from its files and the daemon's
// lock.
func (p *Profile) Status() (Status, error) {
	st := Status{Name: p.Name}
	reg, registered, err := p.Registration()
	if err != nil {
		return st, err
	}
	st.EndpointID = reg.EndpointID
	running, pid, exists, err := p.probe()
	if err != nil {
		return st, err
	}
	switch {
	case running:
		st.State, st.PID = Running, pid
	case exists:
		st.State, st.PID = Disconnected, pid
	case registered:
		st.State = Stopped
	default:
		st.State = Initialized
	}
	return st, nil
}
