package local

// SetMaxTracked lowers how many jobs p remembers, so that a test need
// not start thousands of processes.
func SetMaxTracked(p *Provider, n int) { p.max = n }

// Tracked returns how many jobs p remembers.
func Tracked(p *Provider) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.jobs)
}
