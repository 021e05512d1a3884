// Package health tells whether webhook deliveries are getting through: it reads the
// pipeline's CloudWatch metrics (one GetMetricData call with metric math), the depth of
// the events queue and its DLQ, and the newest entry of the event log, and turns them
// into a status — healthy, degraded or unhealthy — for GET /webhooks/github/health
// (JSON) and a public HTML status page (GET /webhooks/github/status).
//
// It never fails open: a source that cannot be read makes the status degraded (or
// worse), and the answer says which one, without internal details.
//
// The counts cover every delivery handled in the window: total = processed + ignored +
// failed (duplicates and deliveries still queued are not counted), and success_rate =
// (processed + ignored) ÷ total, a correctly ignored delivery being a success.
//
// Both routes are public, so each answer costs at most one GetMetricData call (and the
// page one event log read) per window per CacheTTL: only three windows exist, the cache
// is keyed by the window alone, and the template gives the routes their own throttle and
// the function a reserved concurrency.
//
// README.md in this folder is the operator's reference: the metrics, the health checks and
// their thresholds, the status page, the alarms and the dashboard.
package health
