package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/funcx-go/funcx"
)

// Names of the built-in Go functions, present in every worker binary.
const (
	// NameNoop returns null and does nothing: the probe for the fabric's
	// own per-task cost.
	NameNoop = "noop"
	// NameEcho returns its arguments unchanged.
	NameEcho = "echo"
	// NameSleep sleeps for its argument, a duration string ("250ms") or a
	// number of seconds (1.5), and returns null; it stops early, failing,
	// when its context is done.
	NameSleep = "sleep"
)

// builtinFunc is a built-in. Inline ones cannot block or panic, so the
// worker calls them on its own goroutine and saves a goroutine per task.
type builtinFunc struct {
	fn     RawFunc
	inline bool
}

var jsonNull = json.RawMessage("null")

var (
	noopBuiltin = builtinFunc{inline: true, fn: func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return jsonNull, nil
	}}
	echoBuiltin = builtinFunc{inline: true, fn: func(_ context.Context, args json.RawMessage) (json.RawMessage, error) {
		return args, nil
	}}
	sleepBuiltin = builtinFunc{fn: sleep}
)

// builtin returns the built-in called name, or nil.
func builtin(name string) *builtinFunc {
	switch name {
	case NameNoop:
		return &noopBuiltin
	case NameEcho:
		return &echoBuiltin
	case NameSleep:
		return &sleepBuiltin
	}
	return nil
}

func sleep(ctx context.Context, args json.RawMessage) (json.RawMessage, error) {
	d, err := parseSleep(args)
	if err != nil {
		return nil, funcx.Errorf(funcx.InvalidTask, "%v", err)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return jsonNull, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("sleep of %s interrupted: %w", d, context.Cause(ctx))
	}
}

// maxSleepSeconds keeps a number of seconds inside time.Duration.
const maxSleepSeconds = float64(1<<62) / float64(time.Second)

// parseSleep reads sleep's argument: "250ms" or a number of seconds.
func parseSleep(args json.RawMessage) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(args, &s); err == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("sleep: %w", err)
		}
		return max(d, 0), nil
	}
	secs, err := strconv.ParseFloat(string(bytes.TrimSpace(args)), 64)
	if err != nil || !(secs >= 0 && secs <= maxSleepSeconds) { // the negation also refuses NaN
		return 0, fmt.Errorf("sleep: argument %.40q is neither a duration string like \"250ms\" nor a non-negative number of seconds", args)
	}
	return time.Duration(secs * float64(time.Second)), nil
}
