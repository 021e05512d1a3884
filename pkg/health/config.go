package health

import (
	"fmt"
	"time"

	"github.com/repotrackr/github-integration/pkg/config"
)

// Defaults of the thresholds; the registry (pkg/config) states the same values for the
// HEALTH_* variables, and a test there holds the two together.
const (
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
			config.HealthUnhealthySuccessRate, t.UnhealthySuccessRate, config.HealthMinSuccessRate, t.MinSuccessRate)
	case t.MaxQueueAge <= 0 || t.UnhealthyQueueAge < t.MaxQueueAge:
		return fmt.Errorf("queue age thresholds must satisfy 0 < %s (%s) <= %s (%s)",
			config.HealthMaxQueueAge, t.MaxQueueAge, config.HealthUnhealthyQueueAge, t.UnhealthyQueueAge)
	case t.UnhealthyDLQDepth < 1:
		return fmt.Errorf("%s must be at least 1, got %d", config.HealthUnhealthyDLQDepth, t.UnhealthyDLQDepth)
	}
	return nil
}

// ThresholdsFrom reads the HEALTH_* thresholds through env (unset ones take the
// registry's defaults) and checks them against each other.
func ThresholdsFrom(env *config.Env) (Thresholds, error) {
	t := Thresholds{
		MinSuccessRate:       env.Float(config.HealthMinSuccessRate),
		UnhealthySuccessRate: env.Float(config.HealthUnhealthySuccessRate),
		MaxQueueAge:          env.Duration(config.HealthMaxQueueAge),
		UnhealthyQueueAge:    env.Duration(config.HealthUnhealthyQueueAge),
		UnhealthyDLQDepth:    env.Int(config.HealthUnhealthyDLQDepth),
	}
	if err := env.Err(); err != nil {
		return t, err
	}
	return t, t.Validate()
}
