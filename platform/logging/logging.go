// Package logging builds the one *zap.Logger a process uses: readable text on a terminal,
// JSON otherwise. Components receive it from main and name it after themselves.
//
// Nothing personal (date of birth, salary, postcode, names) is ever passed to a logger:
// log the kind of thing that happened and opaque identifiers, never a learner's answers.
package logging

import (
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Config chooses the log level and format.
type Config struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is auto (text on a terminal, JSON otherwise), text or json.
	Format string
}

// RegisterFlags registers the logging flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.Format, "log-format", "auto", "log format: auto (text on a terminal, JSON otherwise), text or json")
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if _, err := zapcore.ParseLevel(c.Level); err != nil {
		return fmt.Errorf("log-level: %q is not one of debug, info, warn, error", c.Level)
	}
	switch c.Format {
	case "auto", "text", "json":
	default:
		return fmt.Errorf("log-format: %q is not one of auto, text, json", c.Format)
	}
	return nil
}

// New returns a logger writing to w. When Format is auto, w is a terminal decides text.
func New(c Config, w io.Writer) (*zap.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	level, _ := zapcore.ParseLevel(c.Level)
	text := c.Format == "text" || (c.Format == "auto" && isTerminal(w))
	var enc zapcore.Encoder
	if text {
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeLevel = zapcore.CapitalColorLevelEncoder
		ec.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		ec.TimeKey = "time"
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	return zap.New(core, zap.ErrorOutput(zapcore.Lock(zapcore.AddSync(w)))), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
