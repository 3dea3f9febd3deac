package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/client"
	"github.com/funcx-go/funcx/client/clienttest"
	"github.com/funcx-go/funcx/service/api"
)

// Submitting to an endpoint through an Executor and reading results from
// the futures. The fake service stands in for the real one: its endpoint
// "runs" a task by echoing its arguments.
func ExampleExecutor() {
	srv := clienttest.Start(clienttest.Config{Run: clienttest.Echo})
	defer srv.Close()
	endpointID := srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})

	c, err := client.New(client.Config{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	fid, err := c.RegisterFunction(ctx, api.RegisterFunctionRequest{Name: "square", Kind: "go", GoName: "square"})
	if err != nil {
		log.Fatal(err)
	}

	ex := c.Executor(endpointID)
	futures, err := ex.Map(ctx, fid, []any{1, 2, 3})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range futures {
		res, err := f.Result(ctx)
		if errors.Is(err, funcx.ErrWorkerLost) {
			fmt.Println("lost a worker; try again")
			continue
		} else if err != nil {
			log.Fatal(err)
		}
		var out int
		if err := res.Output(&out); err != nil {
			log.Fatal(err)
		}
		fmt.Println(out)
	}
	// Output:
	// 1
	// 2
	// 3
}

// Registering a Python function from Go and calling it through an
// Executor: the arguments are funcx.PythonArgs, the output the JSON of
// what the function returns. The fake service's endpoint only echoes the
// arguments; a real endpoint runs the function in its python3.
func ExampleFunctionRequest() {
	srv := clienttest.Start(clienttest.Config{Run: clienttest.Echo})
	defer srv.Close()
	endpointID := srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})
	c, err := client.New(client.Config{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	const source = `def integrate(f_name, n):
    import math
    f = getattr(math, f_name)
    return sum(f(i / n) for i in range(n)) / n
`
	fid, err := c.RegisterFunction(ctx, client.FunctionRequest("integrate", funcx.Python(source, "integrate")))
	if err != nil {
		log.Fatal(err)
	}
	ex := c.Executor(endpointID)
	res, err := ex.Submit(fid, funcx.PythonArgs{Args: []any{"sin", 1000}}).Result(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(res.TaskResult.Output))
	// Output:
	// {"args":["sin",1000]}
}
