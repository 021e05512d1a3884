// Command redeliver is the scheduled job that asks GitHub to redeliver the App's webhook
// deliveries that failed (for example while the ingest function could not queue them):
// wiring only; the job is pkg/redeliver.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/redeliver"
	"github.com/repotrackr/github-integration/pkg/startup"
)

// setup builds the scheduled redelivery job, which cannot work without the App.
func setup(ctx context.Context, d *startup.Deps) (any, error) {
	lookback := d.Env.Duration(config.RedeliverLookback)
	gh, err := ghapp.NewFromEnv(ctx, d.Env, d.Secrets, ghapp.Config{Log: d.Log, Metrics: d.Metrics})
	if err != nil {
		return nil, fmt.Errorf("github app client: %w", err)
	}
	job := redeliver.New(gh, redeliver.Config{Lookback: lookback, Log: d.Log, Metrics: d.Metrics})
	return func(ctx context.Context, _ events.EventBridgeEvent) (redeliver.Result, error) {
		return job.Run(ctx)
	}, nil
}

func main() { startup.Run(config.Redeliver, setup) }
