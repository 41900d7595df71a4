// Package metrics exposes the load balancer's metrics in the Prometheus
// exposition format, named after ALB's CloudWatch metrics.
package metrics

import (
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
)
