package worker_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/worker"
	"github.com/funcx-go/funcx/worker/workertest"
)

// Serve runs in-process over any net.Conn; here the test helper plays the
// manager's side.
func ExampleServe() {
	managerEnd, workerEnd := net.Pipe()
	done := make(chan error, 1)
	go func() { done <- worker.Serve(context.Background(), workerEnd, worker.Config{WorkerID: 1}) }()

	manager := workertest.NewConn(managerEnd)
	ready, _ := manager.ReadReady()
	fmt.Println("ready: worker", ready.Worker)

	results, _ := manager.Run(funcx.Task{
		ID:       funcx.NewTaskID(),
		Function: funcx.Command("echo", "hello {name}"),
		Args:     []byte(`{"name": "world"}`),
	})
	fmt.Printf("exit %d: %s", results[0].ExitCode, results[0].Stdout)

	manager.Shutdown()
	fmt.Println("serve:", <-done)
	// Output:
	// ready: worker 1
	// exit 0: hello world
	// serve: <nil>
}

// A registry of one's own, filled with typed functions; worker.Register
// does the same on DefaultRegistry.
func ExampleTyped() {
	var reg worker.Registry
	reg.Register("shout", worker.Typed(func(_ context.Context, s string) (string, error) {
		return strings.ToUpper(s) + "!", nil
	}))
	fn, _ := reg.Lookup("shout")
	out, err := fn(context.Background(), []byte(`"hello"`))
	fmt.Println(string(out), err)
	// Output: "HELLO!" <nil>
}
