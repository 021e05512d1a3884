// Command ingest is the webhook ingest Lambda function (POST /webhooks/github): wiring
// only; the handler is pkg/ingest.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/ingest"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/secrets"
)

func main() {
	if err := run(); err != nil {
		slog.New(slog.NewJSONHandler(os.Stdout, nil)).Error("ingest stopped", "err", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))

	queueURL := os.Getenv("QUEUE_URL")
	if queueURL == "" {
		return errors.New("QUEUE_URL is not set")
	}
	// The SDK reads region, credentials and AWS_ENDPOINT_URL(_SQS) itself; the clients
	// are built once per container.
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("load AWS config: %w", err)
	}
	var sm secrets.Getter
	if os.Getenv("GITHUB_WEBHOOK_SECRET_ARN") != "" {
		sm = secretsmanager.NewFromConfig(cfg)
	}
	loadSecret := func(ctx context.Context) (string, error) {
		return secrets.Load(ctx, sm, "GITHUB_WEBHOOK_SECRET")
	}
	secret, err := loadSecret(ctx)
	var reload func(context.Context) (string, error)
	if err != nil {
		// Fail closed: the function starts and refuses every delivery with 401, so that
		// GitHub records the failures and the redeliver job retries them once fixed. A
		// configured secret that could not be read is asked for again (once a minute).
		log.Error("webhook secret unavailable", "err", err)
		secret = ""
		if !errors.Is(err, secrets.ErrMissing) {
			reload = loadSecret
		}
	}

	h := ingest.New(ingest.Config{
		QueueURL: queueURL,
		Secret:   secret,
		Reload:   reload,
		Log:      log,
		Metrics:  metrics.New(os.Stdout, os.Getenv("METRICS_NAMESPACE")),
	}, sqs.NewFromConfig(cfg))
	lambda.Start(h.Handle)
	return nil
}
