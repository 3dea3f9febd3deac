package service

import (
	"github.com/funcx-go/funcx/broker"
	"github.com/funcx-go/funcx/service/api"
)

// The API's copies of a heartbeat's detail (broker.HeartbeatDetail): the
// broker's types are the endpoint-service protocol, the API's the
// client-service one, and either may change without the other.

func blockError(e *broker.BlockError) *api.BlockError {
	if e == nil {
		return nil
	}
	return &api.BlockError{Message: e.Message, Time: utc(e.Time), Image: e.Image}
}

func blockProblems(ps []broker.BlockProblem) []api.BlockProblem {
	if len(ps) == 0 {
		return nil
	}
	out := make([]api.BlockProblem, len(ps))
	for i, p := range ps {
		out[i] = api.BlockProblem{Block: p.Block, Image: p.Image, JobID: p.JobID, State: p.State, Message: p.Message, ExitCode: p.ExitCode, Time: utc(p.Time)}
	}
	return out
}

func routing(r *broker.Routing) *api.Routing {
	if r == nil {
		return nil
	}
	out := &api.Routing{Total: api.RoutingFigures(r.Total)}
	for _, m := range r.Managers {
		mr := api.ManagerRouting{Manager: m.Manager, Block: m.Block, RoutingFigures: api.RoutingFigures(m.RoutingFigures)}
		for _, c := range m.Containers {
			mr.Containers = append(mr.Containers, api.ContainerWorkers(c))
		}
		out.Managers = append(out.Managers, mr)
	}
	return out
}
