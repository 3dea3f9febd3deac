package container

import (
	"debug/elf"
	"fmt"
)

// CheckStatic returns an error unless path is a statically linked ELF
// executable, which a worker binary mounted into an arbitrary image must
// be (build it with CGO_ENABLED=0).
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("worker binary %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("worker binary %s is dynamically linked: images need a static one (build it with CGO_ENABLED=0 go build) and name it in container.worker_binary", path)
		}
	}
	return nil
}
