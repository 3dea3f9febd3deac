package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/funcx-go/funcx/internal/cpuprofile"
)

// Environment variables through which a provider starts a manager process.
const (
	// EnvRole selects the role of a re-executed funcx program.
	EnvRole = "FUNCX_ROLE"
	// RoleManager is EnvRole's value for a manager.
	RoleManager = "manager"
	// EnvConfig holds the manager's Config as JSON.
	EnvConfig = "FUNCX_MANAGER_CONFIG"
	// EnvLogLevel sets the manager's log level (debug, info, warn, error).
	EnvLogLevel = "FUNCX_LOG_LEVEL"
	// EnvRunID marks the processes of one endpoint run (see Config.RunID).
	EnvRunID = "FUNCX_RUN_ID"
)

// Main runs this process as a manager if it was started as one
// (FUNCX_ROLE=manager) and then exits: status 0 after a clean stop, 1 on
// an error, 2 when refused by the interchange. Otherwise it returns at
// once. It logs to stderr, which providers collect per block.
func Main() {
	if os.Getenv(EnvRole) != RoleManager {
		return
	}
	narrowProcs()
	stopProfile := cpuprofile.Start(RoleManager)
	code := runFromEnv()
	stopProfile()
	os.Exit(code)
}

func runFromEnv() int {
	level := slog.LevelInfo
	_ = level.UnmarshalText([]byte(strings.ToUpper(os.Getenv(EnvLogLevel))))
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := ConfigFromEnv()
	if err != nil {
		log.Error("cannot start manager", "err", err)
		return 1
	}
	cfg.Logger = log
	// The config carries the secret; do not hand it to workers.
	os.Unsetenv(EnvConfig)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, cfg); err != nil {
		log.Error("manager stopped", "err", err)
		if errors.Is(err, ErrRefused) {
			return 2
		}
		return 1
	}
	return 0
}

// ConfigFromEnv decodes the Config a provider put in FUNCX_MANAGER_CONFIG.
func ConfigFromEnv() (Config, error) {
	raw := os.Getenv(EnvConfig)
	if raw == "" {
		return Config{}, fmt.Errorf("%s is empty: a manager is started by an endpoint's provider, which sets it", EnvConfig)
	}
	var cfg Config
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("decode %s: %w", EnvConfig, err)
	}
	return cfg, nil
}

// Environ returns the environment entries that start a manager with cfg
// (its Logger is not carried).
func Environ(cfg Config) ([]string, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode manager config: %w", err)
	}
	return []string{EnvRole + "=" + RoleManager, EnvConfig + "=" + string(b)}, nil
}
