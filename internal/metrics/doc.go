// Package metrics exposes the load balancer's metrics in the Prometheus
// exposition format, named after ALB's CloudWatch metrics (see [Names]).
//
// The data plane records into a [Registry] on every request and connection,
// so recording is built for speed rather than on client_golang's vectors:
// each series set (a listener, a target group, a target) is a struct of
// atomic counters and fixed-bucket histograms, found through a [sync.Map]
// keyed by a small comparable struct and created on first use. Recording a
// request is a few map loads and atomic adds, with no allocation once its
// series exist. The Registry is a [prometheus.Collector] that turns those
// counters into constant metrics only when scraped.
//
// Series stay until pruned: the server calls [Registry.Retain] after each
// configuration change so removed listeners, target groups and targets stop
// being exported.
package metrics
