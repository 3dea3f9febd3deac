package worker

// OwnProcess marks cfg as a worker process's own, as Main does.
func OwnProcess(cfg Config) Config {
	cfg.ownProcess = true
	return cfg
}
