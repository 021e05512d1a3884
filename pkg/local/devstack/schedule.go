package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

var rateExpr = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// ParseRate returns the period of an EventBridge rate() expression.
func ParseRate(expr string) (time.Duration, error) {
	m := rateExpr.FindStringSubmatch(expr)
	if m == nil {
		return 0, fmt.Errorf("schedule %q: only rate(N minutes|hours|days) runs locally", expr)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("schedule %q: bad rate", expr)
	}
	unit := map[string]time.Duration{
		"minute": time.Minute, "minutes": time.Minute,
		"hour": time.Hour, "hours": time.Hour,
		"day": 24 * time.Hour, "days": 24 * time.Hour,
	}[m[2]]
	return time.Duration(n) * unit, nil
}

// ScheduledEvent is the event EventBridge sends for a scheduled rule.
func ScheduledEvent(region, rule string, at time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version:    "0",
		ID:         lambdarie.NewUUID(),
		DetailType: "Scheduled Event",
		Source:     "aws.events",
		AccountID:  AccountID,
		Time:       at.UTC().Truncate(time.Second),
		Region:     region,
		Resources:  []string{fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", region, AccountID, rule)},
		Detail:     json.RawMessage(`{}`),
	}
}

// startSchedules invokes each function with a Schedule event at its rate, as EventBridge
// would; cron() schedules are not run locally (`make invoke` runs them by hand).
func (s *Stack) startSchedules(ctx context.Context, functions []samtemplate.Function) {
	for _, fn := range functions {
		for _, e := range fn.Events {
			if e.Type != "Schedule" && e.Type != "ScheduleV2" {
				continue
			}
			period, err := ParseRate(e.Schedule)
			if err != nil {
				s.con.progress("schedule: %s %s not run locally: %v", fn.Name, e.Name, err)
				continue
			}
			if s.opts.ScheduleEvery > 0 {
				period = s.opts.ScheduleEvery
			}
			pool := s.Functions[fn.Name]
			rule := fn.LogicalID + e.Name
			log := s.con.logger("schedule")
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				t := time.NewTicker(period)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case at := <-t.C:
						payload, _ := json.Marshal(ScheduledEvent(s.Info.Resources.Region, rule, at))
						res, err := pool.Invoke(ctx, payload)
						switch {
						case err != nil:
							log.Warn("scheduled invocation failed", "function", fn.Name, "err", err)
						case res.FunctionError != "":
							log.Warn("scheduled invocation failed", "function", fn.Name, "error", string(res.Payload))
						}
					}
				}
			}()
			s.con.progress("schedule: %s every %s (%s)", fn.Name, period, e.Schedule)
		}
	}
}
