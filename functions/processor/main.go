// Command processor is the SQS-triggered processor Lambda function: wiring only; the
// handler is pkg/processor.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/processor"
	"github.com/repotrackr/github-integration/pkg/startup"
	"github.com/repotrackr/github-integration/pkg/store"
)

// setup builds the processor, which cannot work without the App.
func setup(ctx context.Context, d *startup.Deps) (any, error) {
	tables := store.TablesFrom(d.Env.Lookup)
	retention := d.Env.Duration(config.EventLogRetention)
	gh, err := ghapp.NewFromEnv(ctx, d.Env, d.Secrets, ghapp.Config{Log: d.Log, Metrics: d.Metrics})
	if err != nil {
		return nil, fmt.Errorf("github app client: %w", err)
	}
	p := processor.New(store.NewFromConfig(d.AWS, tables).WithLogger(d.Log).WithBatchedStats(), gh, processor.Config{
		Retention: retention,
		Lease:     d.Env.Duration(config.ProcessorLease),
		Log:       d.Log,
		Metrics:   d.Metrics,
		Queue:     sqs.NewFromConfig(d.AWS),
		QueueURL:  d.Env.URL(config.QueueURL),
	})
	return p.Handle, nil
}

func main() { startup.Run(config.Processor, setup) }
