// Command ingest is the webhook ingest Lambda function (POST /webhooks/github): wiring
// only; the handler is pkg/ingest.
package main

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/ingest"
	"github.com/repotrackr/github-integration/pkg/secrets"
	"github.com/repotrackr/github-integration/pkg/startup"
)

// setup builds the ingest handler; it starts even without a webhook secret (fail closed).
func setup(ctx context.Context, d *startup.Deps) (any, error) {
	cfg := ingest.Config{QueueURL: d.Env.URL(config.QueueURL), Log: d.Log, Metrics: d.Metrics}
	secretRef := d.Env.Secret(config.GitHubWebhookSecret)
	loadSecret := func(ctx context.Context) (string, error) { return secretRef.Load(ctx, d.Secrets) }
	var err error
	if cfg.Secret, err = loadSecret(ctx); err != nil {
		// Fail closed: the function starts and refuses every delivery with 401, so that
		// GitHub records the failures and the redeliver job retries them once fixed. A
		// configured secret that could not be read is asked for again (once a minute).
		d.Log.Error("webhook secret unavailable", "err", err)
		cfg.Secret = ""
		if !errors.Is(err, secrets.ErrMissing) {
			cfg.Reload = loadSecret
		}
	}
	// The SQS client is built on the first verified delivery, not at init: the first
	// request of a cold start need not pay for it.
	return ingest.NewWithLazyQueue(cfg, func() *sqs.Client { return sqs.NewFromConfig(d.AWS) }).Handle, nil
}

func main() { startup.Run(config.Ingest, setup) }
