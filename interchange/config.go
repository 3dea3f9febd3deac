package interchange

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/internal/wire"
	"github.com/funcx-go/funcx/routing"
)

// Defaults of Config.
const (
	DefaultListenAddr         = "127.0.0.1:0"
	DefaultHeartbeatPeriod    = 30 * time.Second
	DefaultHeartbeatThreshold = 120 * time.Second
	DefaultBatchSize          = 4096
	DefaultHandshakeTimeout   = 10 * time.Second
)

// Config configures an Interchange.
type Config struct {
	// ListenAddr is the TCP address managers connect to. Port 0 picks a
	// free port; Addr reports it. Defaults to DefaultListenAddr.
	ListenAddr string
	// Secret is the endpoint run's secret that managers must present.
	// Required.
	Secret string
	// ID names this interchange in logs and in managers' logs. Defaults
	// to "interchange".
	ID string
	// HeartbeatPeriod is how often the interchange tells managers it is
	// alive. Defaults to DefaultHeartbeatPeriod.
	HeartbeatPeriod time.Duration
	// HeartbeatThreshold is how long a silent manager is kept before it is
	// declared lost. Defaults to DefaultHeartbeatThreshold.
	HeartbeatThreshold time.Duration
	// MaxRetriesOnSystemFailure is how often a task is re-dispatched after
	// its manager or worker was lost before it fails. Defaults to 0.
	MaxRetriesOnSystemFailure int
	// Router picks managers for pending tasks. Defaults to routing.Plain.
	Router routing.Router
	// Refuse, when set, is asked about every submitted task; a task it
	// returns an error for is answered at once with that failure instead
	// of waiting for a manager that will never come (an image no manager
	// serves under hard routing). Defaults to nil: every task queues.
	Refuse func(*funcx.Task) *funcx.TaskError
	// BatchSize caps the tasks in one frame to a manager. Defaults to
	// DefaultBatchSize.
	BatchSize int
	// MaxFrame caps one frame either way. Defaults to wire.DefaultMaxFrame.
	MaxFrame int
	// HandshakeTimeout bounds how long a new connection may take to send
	// its Hello. Defaults to DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Logger receives the interchange's log; nil means quiet.
	Logger *slog.Logger
}

// WithDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.ListenAddr == "" {
		c.ListenAddr = DefaultListenAddr
	}
	if c.ID == "" {
		c.ID = "interchange"
	}
	if c.HeartbeatPeriod == 0 {
		c.HeartbeatPeriod = DefaultHeartbeatPeriod
	}
	if c.HeartbeatThreshold == 0 {
		c.HeartbeatThreshold = DefaultHeartbeatThreshold
	}
	if c.Router == nil {
		c.Router = routing.Plain{}
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c *Config) validate() error {
	var errs []error
	if c.Secret == "" {
		errs = append(errs, errors.New("Secret is empty: managers must authenticate"))
	}
	if c.HeartbeatPeriod < 0 {
		errs = append(errs, fmt.Errorf("HeartbeatPeriod %s is negative", c.HeartbeatPeriod))
	}
	if c.HeartbeatThreshold <= c.HeartbeatPeriod {
		errs = append(errs, fmt.Errorf("HeartbeatThreshold %s must exceed HeartbeatPeriod %s", c.HeartbeatThreshold, c.HeartbeatPeriod))
	}
	if c.MaxRetriesOnSystemFailure < 0 {
		errs = append(errs, fmt.Errorf("MaxRetriesOnSystemFailure %d is negative", c.MaxRetriesOnSystemFailure))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("BatchSize %d is negative", c.BatchSize))
	}
	if c.MaxFrame < 1024 {
		errs = append(errs, fmt.Errorf("MaxFrame %d is below 1024 bytes", c.MaxFrame))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("interchange config: %w", err)
	}
	return nil
}
