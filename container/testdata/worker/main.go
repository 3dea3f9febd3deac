// Command worker is the static worker binary of the container tests: they
// build it with CGO_ENABLED=0 and mount it into images built FROM scratch.
// Its function "whereami" tells where it runs: the hostname (a Docker
// container's ID), the content of /funcx-image (a file only the test
// images hold) and FUNCX_WORKER_CONTAINER. With the argument "sleep" it
// runs until it is killed.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/funcx-go/funcx/worker"
)

// Where is what "whereami" returns.
type Where struct {
	Hostname  string `json:"hostname"`
	Image     string `json:"image"`
	Container string `json:"container"`
	PID       int    `json:"pid"`
}

func init() {
	container := os.Getenv(worker.EnvContainer) // read before Main unsets it
	worker.Register("whereami", func(context.Context, struct{}) (Where, error) {
		host, _ := os.Hostname()
		b, err := os.ReadFile("/funcx-image")
		if err != nil && !os.IsNotExist(err) {
			return Where{}, err
		}
		return Where{Hostname: host, Image: strings.TrimSpace(string(b)), Container: container, PID: os.Getpid()}, nil
	})
}

func main() {
	if len(os.Args) == 2 && os.Args[1] == "sleep" {
		// A container that runs until it is killed, for the tests of Kill.
		for {
			time.Sleep(time.Hour)
		}
	}
	worker.Main()
	fmt.Fprintln(os.Stderr, "worker: started by a funcx manager only (FUNCX_ROLE=worker)")
	os.Exit(2)
}
