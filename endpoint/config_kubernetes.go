package endpoint

// KubernetesConfig is the [provider.kubernetes] table: how blocks run as
// pods. Only read when provider.type is kubernetes.
type KubernetesConfig struct {
	// Image is the container image of the block's pod; it must hold the
	// funcx-endpoint binary (which serves the manager and worker roles).
	Image string `toml:"image"`
	// Namespace is where pods are created. Defaults to "default".
	Namespace string `toml:"namespace"`
}

func (k KubernetesConfig) withDefaults() KubernetesConfig {
	if k.Namespace == "" {
		k.Namespace = "default"
	}
	return k
}

// validate reports impossible values through bad, naming the config.toml
// key. c is the whole configuration, for rules that span tables.
func (k *KubernetesConfig) validate(c *Config, bad func(key, format string, args ...any)) {
	if c.Provider.Type != "kubernetes" {
		return
	}
	if c.ContainerRouting == RoutingSoft {
		bad("container_routing", "soft routing is not supported with provider.type = \"kubernetes\": pods are deployed per image, so use container_routing = \"hard\"")
	}
}
