package main

import "github.com/funcx-go/funcx/service/api"

// apiEndpoint is an endpoint of owner ("" for the test identity) for the
// fake service.
func apiEndpoint(owner string) api.EndpointStatus {
	return api.EndpointStatus{Name: "default", Owner: owner}
}
