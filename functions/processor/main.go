// Command processor is the SQS-triggered processor Lambda function: wiring only; the
// handler is pkg/processor.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/processor"
	"github.com/repotrackr/github-integration/pkg/secrets"
	"github.com/repotrackr/github-integration/pkg/store"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("processor stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	tables := store.TablesFromEnv()
	if err := tables.Require(
		store.EnvProjectsTable, store.EnvSnapshotsTable, store.EnvUpdatesTable, store.EnvEventsTable,
		store.EnvInstallationsTable, store.EnvEventStatsTable); err != nil {
		return err
	}
	retention := processor.DefaultRetention
	if v := os.Getenv("EVENT_LOG_RETENTION_DAYS"); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days <= 0 {
			return fmt.Errorf("EVENT_LOG_RETENTION_DAYS %q is not a positive number of days", v)
		}
		retention = time.Duration(days) * 24 * time.Hour
	}

	// The SDK reads region, credentials and AWS_ENDPOINT_URL(_DYNAMODB) itself; the
	// clients are built once per container.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	var sm secrets.Getter
	if os.Getenv("GITHUB_APP_PRIVATE_KEY_ARN") != "" {
		sm = secretsmanager.NewFromConfig(cfg)
	}
	em := metrics.New(os.Stdout, os.Getenv("METRICS_NAMESPACE"))
	gh, err := ghapp.NewFromEnv(ctx, sm, ghapp.Config{Logger: log, Metrics: em})
	if err != nil {
		return fmt.Errorf("github app client: %w", err)
	}
	p := processor.New(store.NewFromConfig(cfg, tables).WithLogger(log), gh, processor.Config{
		Retention: retention,
		Log:       log,
		Metrics:   em,
	})
	lambda.Start(p.Handle)
	return nil
}
