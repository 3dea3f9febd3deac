// Package clienttest provides a fake funcX service for tests of code that
// uses package client: an in-memory implementation of the routes of
// service/api on an httptest.Server, with hooks to run or complete tasks,
// expire tokens and inject failures.
//
//	srv := clienttest.NewServer(t, clienttest.Config{Run: clienttest.Echo})
//	ep := srv.AddEndpoint(api.EndpointStatus{Name: "laptop"})
//	c, _ := client.New(client.Config{ServiceURL: srv.URL, ClientID: srv.ClientID(), ClientSecret: srv.ClientSecret()})
//
// It is a fake, not the service: one identity, no broker, no persistence.
package clienttest
