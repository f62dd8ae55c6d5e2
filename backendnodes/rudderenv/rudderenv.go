// Package rudderenv holds the rudder-server settings every node runs with, wherever it
// runs: the ECS task definitions of `deploy nodes` and the compose export.
package rudderenv

// Offline are rudder-server's switches for running without RudderStack's hosted services
// (diagnostics, stats, archival to object storage, the warehouse service, the profiler,
// telemetry). Reporting is on whenever ENTERPRISE_TOKEN is set (the nodes set it so that
// `env.X` placeholders in the workspace resolve) and posts to RudderStack's reporting
// service: off too. Ordered, so that files written from it are stable.
var Offline = [][2]string{
	{"RSERVER_DIAGNOSTICS_ENABLE_DIAGNOSTICS", "false"},
	{"RSERVER_ENABLE_STATS", "false"},
	{"RSERVER_ARCHIVAL_ENABLED", "false"},
	{"RSERVER_WAREHOUSE_MODE", "off"},
	{"RSERVER_PROFILER_ENABLED", "false"},
	{"RUDDER_ENABLE_TELEMETRY", "false"},
	{"RSERVER_REPORTING_ENABLED", "false"},
}
