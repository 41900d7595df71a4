package health

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/sluicelb/sluice/internal/clock"
	"github.com/sluicelb/sluice/internal/target"
)

// AWS defaults, used for zero Settings fields.
const (
	DefaultPath               = "/"
	DefaultInterval           = 30 * time.Second
	DefaultTimeout            = 5 * time.Second
	DefaultHealthyThreshold   = 5
	DefaultUnhealthyThreshold = 2
)

// Settings are a target group's health check settings. Zero fields take the
// AWS defaults noted on each, except Enabled: the zero Settings disable
// checks.
type Settings struct {
	// Enabled turns checks on. When false, targets are unavailable
	// (Target.HealthCheckDisabled) and never probed.
	Enabled bool
	// Protocol is "HTTP" (the default when empty) or "HTTPS", matched
	// case-insensitively. HTTPS certificates are never verified.
	Protocol string
	// Port is the port probed; 0 means the target's own (traffic) port.
	Port int
	// Path is the request path, optionally with a query; "" means "/".
	Path string
	// Interval is the time between probe starts; 0 means 30s.
	Interval time.Duration
	// Timeout bounds a whole probe (dial, TLS, request, response, body);
	// 0 means 5s.
	Timeout time.Duration
	// HealthyThreshold is the consecutive successes an unhealthy target
	// needs to become healthy; 0 means 5. A target in initial needs one.
	HealthyThreshold int
	// UnhealthyThreshold is the consecutive failures that make a target
	// unhealthy; 0 means 2.
	UnhealthyThreshold int
	// Matcher is the set of good codes; the zero Matcher means "200", or
	// "12" when GRPC is set.
	Matcher Matcher
	// GRPC probes with gRPC over HTTP/2 (h2c for HTTP, h2 for HTTPS): a
	// POST of Path with content-type application/grpc and an empty message
	// frame. The grpc-status (trailer, or header for a trailers-only
	// response) is matched against Matcher.
	GRPC bool
}

// withDefaults returns s with zero fields replaced by their defaults.
func (s Settings) withDefaults() Settings {
	if s.Protocol == "" {
		s.Protocol = "HTTP"
	}
	s.Protocol = strings.ToUpper(s.Protocol)
	if s.Path == "" {
		s.Path = DefaultPath
	}
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.HealthyThreshold <= 0 {
		s.HealthyThreshold = DefaultHealthyThreshold
	}
	if s.UnhealthyThreshold <= 0 {
		s.UnhealthyThreshold = DefaultUnhealthyThreshold
	}
	if s.Matcher.IsZero() {
		code := 200
		if s.GRPC {
			code = 12
		}
		s.Matcher = NewMatcher([][2]int{{code, code}})
	}
	return s
}

// GroupSpec is one target group as Sync sees it.
type GroupSpec struct {
	// Name is the target group's name, used in logs and Counts.
	Name     string
	Settings Settings
	// Targets are the group's registered targets. A target is identified
	// by its pointer: pass the same *target.Target across Syncs to keep
	// its checker and state.
	Targets []*target.Target
}

// Options configure a Manager.
type Options struct {
	// Clock schedules probes and stamps state changes; nil means
	// clock.Real{}.
	Clock clock.Clock
	// Logger receives state changes; nil means slog.Default().
	Logger *slog.Logger
	// Dial opens probe connections; nil means a zero net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}
