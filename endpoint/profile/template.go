package profile

import (
	_ "embed"
	"strings"
)

//go:embed config.toml.tmpl
var configTemplate string

// Template returns the config.toml that Create writes for profile name:
// every key commented out with its default and what it means.
func Template(name string) string {
	return strings.ReplaceAll(configTemplate, "{{NAME}}", name)
}
