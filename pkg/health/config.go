package health

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Environment variables the health function reads.
const (
	EnvQueueURL              = "QUEUE_URL"
	EnvDLQURL                = "DLQ_URL"
	EnvNamespace             = "METRICS_NAMESPACE"
	EnvMinSuccessRate        = "HEALTH_MIN_SUCCESS_RATE"
	EnvUnhealthySuccessRate  = "HEALTH_UNHEALTHY_SUCCESS_RATE"
	EnvMaxQueueAge           = "HEALTH_MAX_QUEUE_AGE"
	EnvUnhealthyQueueAge     = "HEALTH_UNHEALTHY_QUEUE_AGE"
	EnvUnhealthyDLQDepth     = "HEALTH_UNHEALTHY_DLQ_DEPTH"
	EnvCacheTTL              = "HEALTH_CACHE_TTL"
	defaultCacheTTL          = 30 * time.Second
	defaultMinSuccessRate    = 0.95
	defaultUnhealthyRate     = 0.80
	defaultMaxQueueAge       = 5 * time.Minute
	defaultUnhealthyQueueAge = 30 * time.Minute
	defaultUnhealthyDLQDepth = 10
)

// Thresholds turn the measurements into a status. The pipeline is healthy when the
// success rate is above MinSuccessRate (or nothing was processed), the DLQ is empty and
// no queued message is older than MaxQueueAge. It is unhealthy when the success rate is
// below UnhealthySuccessRate, the DLQ holds UnhealthyDLQDepth messages or more, or a
// message has waited longer than UnhealthyQueueAge; degraded in between.
type Thresholds struct {
	MinSuccessRate       float64
	UnhealthySuccessRate float64
	MaxQueueAge          time.Duration
	UnhealthyQueueAge    time.Duration
	UnhealthyDLQDepth    int64
}

// DefaultThresholds are the thresholds when the environment sets none.
func DefaultThresholds() Thresholds {
	return Thresholds{
		MinSuccessRate:       defaultMinSuccessRate,
		UnhealthySuccessRate: defaultUnhealthyRate,
		MaxQueueAge:          defaultMaxQueueAge,
		UnhealthyQueueAge:    defaultUnhealthyQueueAge,
		UnhealthyDLQDepth:    defaultUnhealthyDLQDepth,
	}
}

// Validate reports thresholds that contradict each other.
func (t Thresholds) Validate() error {
	switch {
	case t.MinSuccessRate < 0 || t.MinSuccessRate > 1 || t.UnhealthySuccessRate < 0 || t.UnhealthySuccessRate > t.MinSuccessRate:
		return fmt.Errorf("success rate thresholds must satisfy 0 <= %s (%v) <= %s (%v) <= 1",
			EnvUnhealthySuccessRate, t.UnhealthySuccessRate, EnvMinSuccessRate, t.MinSuccessRate)
	case t.MaxQueueAge <= 0 || t.UnhealthyQueueAge < t.MaxQueueAge:
		return fmt.Errorf("queue age thresholds must satisfy 0 < %s (%s) <= %s (%s)",
			EnvMaxQueueAge, t.MaxQueueAge, EnvUnhealthyQueueAge, t.UnhealthyQueueAge)
	case t.UnhealthyDLQDepth < 1:
		return fmt.Errorf("%s must be at least 1, got %d", EnvUnhealthyDLQDepth, t.UnhealthyDLQDepth)
	}
	return nil
}

// ThresholdsFrom reads the thresholds through lookup (os.Getenv in the function); an
// unset variable keeps its default.
func ThresholdsFrom(lookup func(string) string) (Thresholds, error) {
	t := DefaultThresholds()
	var err error
	if t.MinSuccessRate, err = envFloat(lookup, EnvMinSuccessRate, t.MinSuccessRate); err != nil {
		return t, err
	}
	if t.UnhealthySuccessRate, err = envFloat(lookup, EnvUnhealthySuccessRate, t.UnhealthySuccessRate); err != nil {
		return t, err
	}
	if t.MaxQueueAge, err = EnvDuration(lookup, EnvMaxQueueAge, t.MaxQueueAge); err != nil {
		return t, err
	}
	if t.UnhealthyQueueAge, err = EnvDuration(lookup, EnvUnhealthyQueueAge, t.UnhealthyQueueAge); err != nil {
		return t, err
	}
	if v := strings.TrimSpace(lookup(EnvUnhealthyDLQDepth)); v != "" {
		if t.UnhealthyDLQDepth, err = strconv.ParseInt(v, 10, 64); err != nil {
			return t, fmt.Errorf("%s=%q: not an integer", EnvUnhealthyDLQDepth, v)
		}
	}
	return t, t.Validate()
}

func envFloat(lookup func(string) string, name string, def float64) (float64, error) {
	v := strings.TrimSpace(lookup(name))
	if v == "" {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a number", name, v)
	}
	return f, nil
}

// EnvDuration reads a duration variable: Go syntax ("5m", "90s") or whole seconds
// ("300", as CloudFormation parameters give them). Unset keeps def.
func EnvDuration(lookup func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(lookup(name))
	if v == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: not a duration", name, v)
	}
	return d, nil
}
