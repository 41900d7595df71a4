package config

import (
	"fmt"
	"strconv"
	"time"
)

// Duration is a time.Duration written in YAML either as a Go duration string
// ("60s", "1h30m", "7d" is not accepted; write "168h") or as a whole number of
// seconds, the unit the AWS API uses.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d the way time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText accepts "90s", "1m30s" or "90".
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 || n > int64(time.Duration(1<<62)/time.Second) {
			return fmt.Errorf("duration %q out of range", s)
		}
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: write it like \"30s\", \"5m\" or \"24h\", or as a number of seconds", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }
