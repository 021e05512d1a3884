// Command health is the health Lambda function (GET /webhooks/github/health and
// GET /webhooks/github/status): wiring only; the checks and the page are pkg/health.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/health"
	"github.com/repotrackr/github-integration/pkg/store"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("health stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	queueURL, dlqURL := os.Getenv(health.EnvQueueURL), os.Getenv(health.EnvDLQURL)
	if queueURL == "" || dlqURL == "" {
		return errors.New("QUEUE_URL and DLQ_URL must be set")
	}
	tables := store.TablesFromEnv()
	if tables.Events == "" {
		return fmt.Errorf("%s is not set", store.EnvEventsTable)
	}
	thresholds, err := health.ThresholdsFrom(os.Getenv)
	if err != nil {
		return fmt.Errorf("health thresholds: %w", err)
	}
	cacheTTL, err := health.EnvDuration(os.Getenv, health.EnvCacheTTL, 30*time.Second)
	if err != nil {
		return err
	}
	// The SDK reads region, credentials and AWS_ENDPOINT_URL(_CLOUDWATCH, _SQS,
	// _DYNAMODB) itself: the local stack points them at its stand-ins.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	checker := health.NewChecker(health.Config{
		Namespace:  os.Getenv(health.EnvNamespace),
		QueueURL:   queueURL,
		DLQURL:     dlqURL,
		Thresholds: thresholds,
		CacheTTL:   cacheTTL,
		Log:        log,
	}, cloudwatch.NewFromConfig(cfg), sqs.NewFromConfig(cfg), store.NewFromConfig(cfg, tables))
	lambda.Start(health.NewHandler(checker, log).Handle)
	return nil
}
