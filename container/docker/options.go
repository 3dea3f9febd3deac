package docker

import (
	"fmt"
	"strconv"
	"strings"

	dcontainer "github.com/docker/docker/api/types/container"
)

// SupportedRunOptions lists the `docker run` options that run_options may
// hold for the Docker runtime. Containers are created through the Engine
// API, not the docker CLI, so each option is translated; others are
// refused at configuration time rather than silently ignored.
var SupportedRunOptions = []string{
	"--network", "--user", "--env", "--workdir", "--privileged",
	"--cap-add", "--ipc", "--cpus", "--memory", "--shm-size", "--init",
}

// dockerRun is the part of a container's configuration run_options set.
type dockerRun struct {
	env  []string
	user string
	dir  string
	host dcontainer.HostConfig
}

// parseRunOptions translates run_options ("--network=host",
// "--env", "K=V", "-e K=V" ...).
func parseRunOptions(opts []string) (dockerRun, error) {
	var r dockerRun
	for i := 0; i < len(opts); i++ {
		name, value, hasValue := strings.Cut(opts[i], "=")
		if !hasValue {
			if f, v, ok := strings.Cut(opts[i], " "); ok { // "-e K=V" as one entry
				name, value, hasValue = f, strings.TrimSpace(v), true
			}
		}
		switch name {
		case "-e":
			name = "--env"
		case "-u":
			name = "--user"
		case "-w":
			name = "--workdir"
		case "--net":
			name = "--network"
		}
		boolean := name == "--privileged" || name == "--init"
		if !hasValue && !boolean {
			if i+1 >= len(opts) {
				return r, fmt.Errorf("docker run option %s needs a value", name)
			}
			i++
			value = opts[i]
		}
		var err error
		switch name {
		case "--network":
			r.host.NetworkMode = dcontainer.NetworkMode(value)
		case "--user":
			r.user = value
		case "--env":
			if !strings.Contains(value, "=") {
				return r, fmt.Errorf("docker run option --env %q: want KEY=value", value)
			}
			r.env = append(r.env, value)
		case "--workdir":
			r.dir = value
		case "--privileged":
			r.host.Privileged, err = optBool(name, value, hasValue)
		case "--init":
			var b bool
			b, err = optBool(name, value, hasValue)
			r.host.Init = &b
		case "--cap-add":
			r.host.CapAdd = append(r.host.CapAdd, value)
		case "--ipc":
			r.host.IpcMode = dcontainer.IpcMode(value)
		case "--cpus":
			var f float64
			f, err = strconv.ParseFloat(value, 64)
			if err != nil || f <= 0 {
				err = fmt.Errorf("docker run option --cpus %q: want a positive number", value)
			}
			r.host.NanoCPUs = int64(f * 1e9)
		case "--memory":
			r.host.Memory, err = parseBytes(name, value)
		case "--shm-size":
			r.host.ShmSize, err = parseBytes(name, value)
		default:
			return r, fmt.Errorf("docker run option %q is not supported (supported: %s)", opts[i], strings.Join(SupportedRunOptions, ", "))
		}
		if err != nil {
			return r, err
		}
	}
	return r, nil
}

func optBool(name, value string, has bool) (bool, error) {
	if !has {
		return true, nil
	}
	b, err := strconv.ParseBool(value)
	if err != nil {
		return false, fmt.Errorf("docker run option %s=%q: want true or false", name, value)
	}
	return b, nil
}

// parseBytes reads docker's size syntax: a number with an optional b, k,
// m or g suffix (powers of 1024).
func parseBytes(name, s string) (int64, error) {
	mult := int64(1)
	num := strings.ToLower(s)
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'b':
			num = num[:n-1]
		case 'k':
			mult, num = 1<<10, num[:n-1]
		case 'm':
			mult, num = 1<<20, num[:n-1]
		case 'g':
			mult, num = 1<<30, num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v <= 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("docker run option %s %q: want a size like 512m or 2g", name, s)
	}
	return v * mult, nil
}
