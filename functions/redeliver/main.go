// Command redeliver is the scheduled job that asks GitHub to redeliver the App's webhook
// deliveries that failed (for example while the ingest function could not queue them):
// wiring only; the job is pkg/redeliver.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/redeliver"
	"github.com/repotrackr/github-integration/pkg/secrets"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("redeliver stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	em := metrics.New(os.Stdout, os.Getenv("METRICS_NAMESPACE"))

	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	var sm secrets.Getter
	if os.Getenv("GITHUB_APP_PRIVATE_KEY_ARN") != "" || os.Getenv(ghapp.EnvAppRegistrationARN) != "" {
		sm = secretsmanager.NewFromConfig(cfg)
	}
	gh, err := ghapp.NewFromEnv(ctx, sm, ghapp.Config{Logger: log, Metrics: em})
	if err != nil {
		return fmt.Errorf("github app client: %w", err)
	}
	lookback, err := durationEnv("REDELIVER_LOOKBACK")
	if err != nil {
		return err
	}
	job := redeliver.New(gh, redeliver.Config{Lookback: lookback, Logger: log, Metrics: em})
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) (redeliver.Result, error) {
		return job.Run(ctx)
	})
	return nil
}

func durationEnv(name string) (time.Duration, error) {
	v := os.Getenv(name)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}
