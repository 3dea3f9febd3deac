package daemon

import (
	"io"
	"log/slog"
	"sync/atomic"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/funcx-go/funcx/endpoint/profile"
)

// openLog opens endpoint.log, rotated, and sets s.log to a logger that
// writes there (and to the console, if one is set).
func (s *server) openLog() io.Closer {
	file := &lumberjack.Logger{Filename: s.p.Path(profile.LogFile), MaxSize: s.cfg.LogMaxMB, MaxBackups: s.cfg.LogMaxBackups}
	var out io.Writer = file
	if s.cfg.Console != nil {
		out = teeWriter{file: file, console: s.cfg.Console}
	}
	s.log = slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: s.cfg.LogLevel})).With("profile", s.p.Name)
	return file
}

// teeWriter writes to both; the console's errors are ignored.
type teeWriter struct{ file, console io.Writer }

func (t teeWriter) Write(b []byte) (int, error) {
	_, _ = t.console.Write(b)
	return t.file.Write(b)
}

// switchWriter writes to w until it is switched off.
type switchWriter struct {
	w  io.Writer
	on atomic.Bool
}

func newSwitchWriter(w io.Writer) *switchWriter {
	s := &switchWriter{w: w}
	s.on.Store(true)
	return s
}

func (s *switchWriter) Write(b []byte) (int, error) {
	if s.on.Load() {
		_, _ = s.w.Write(b)
	}
	return len(b), nil
}
