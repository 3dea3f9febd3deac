package endpoint_test

import (
	"strings"
	"testing"

	"github.com/funcx-go/funcx/endpoint"
)

func TestContainerConfigValidation(t *testing.T) {
	t.Parallel()
	docker := func(k endpoint.ContainerConfig, routing string) endpoint.Config {
		return endpoint.Config{WorkerMode: endpoint.WorkerModeDocker, ContainerRouting: routing, Container: k}
	}
	cases := map[string]struct {
		cfg     endpoint.Config
		want    string
		notWant string
	}{
		// /bin/sh is dynamically linked on every Linux distribution.
		"docker accepted, a dynamic worker binary refused": {docker(endpoint.ContainerConfig{WorkerBinary: "/bin/sh"}, "soft"), "container.worker_binary", "worker_mode"},
		"hard routing needs images":                        {docker(endpoint.ContainerConfig{}, "hard"), "container.images", ""},
		"unsupported docker run option":                    {docker(endpoint.ContainerConfig{RunOptions: []string{"--rm"}}, "soft"), "container.run_options", ""},
		"bad bind":                                         {docker(endpoint.ContainerConfig{Binds: []string{"relative:/x"}}, "soft"), "container.binds", ""},
		"negative idle time":                               {docker(endpoint.ContainerConfig{WorkerMaxIdleTime: -1}, "soft"), "container.worker_max_idletime", ""},
		"empty image":                                      {docker(endpoint.ContainerConfig{Images: []string{""}}, "hard"), "container.images", ""},
		"singularity not installed": {endpoint.Config{WorkerMode: endpoint.WorkerModeSingularity, ContainerRouting: "soft",
			Container: endpoint.ContainerConfig{RuntimeCommand: "/nonexistent/apptainer"}}, "container.runtime_command", ""},
		"soft routing on kubernetes": {endpoint.Config{WorkerMode: endpoint.WorkerModeDocker, ContainerRouting: "soft",
			Provider: endpoint.ProviderConfig{Type: "kubernetes"}}, "container_routing", ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := tc.cfg.WithDefaults()
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %s", err, tc.want)
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Fatalf("got %v, which should not mention %s", err, tc.notWant)
			}
		})
	}
}
