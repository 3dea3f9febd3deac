//go:build !race && unix

package rawio

// released and acquired annotate raw writes and reads for the race
// detector (race.go); without it they are nothing.
func released() {}

func acquired() {}
