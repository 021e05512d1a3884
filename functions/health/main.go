// Command health is the health Lambda function (GET /webhooks/github/health and
// GET /webhooks/github/status): wiring only; the checks and the page are pkg/health.
package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/health"
	"github.com/repotrackr/github-integration/pkg/startup"
	"github.com/repotrackr/github-integration/pkg/store"
)

// setup builds the health handler over CloudWatch, the two queues and the event log.
func setup(_ context.Context, d *startup.Deps) (any, error) {
	thresholds, err := health.ThresholdsFrom(d.Env)
	if err != nil {
		return nil, fmt.Errorf("health thresholds: %w", err)
	}
	checker := health.NewChecker(health.Config{
		Namespace:  d.Metrics.Namespace(),
		QueueURL:   d.Env.URL(config.QueueURL),
		DLQURL:     d.Env.URL(config.DLQURL),
		Thresholds: thresholds,
		CacheTTL:   d.Env.Duration(config.HealthCacheTTL),
		Log:        d.Log,
	}, cloudwatch.NewFromConfig(d.AWS), sqs.NewFromConfig(d.AWS), store.NewFromConfig(d.AWS, store.TablesFrom(d.Env.Lookup)))
	return health.NewHandler(checker, d.Log).Handle, nil
}

func main() { startup.Run(config.Health, setup) }
