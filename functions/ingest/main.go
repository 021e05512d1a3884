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

func main() { startup.Run(config.Ingest, setup) }

func setup(ctx context.Context, d *startup.Deps) (any, error) {
	queueURL := d.Env.URL(config.QueueURL)
	secretRef := d.Env.Secret(config.GitHubWebhookSecret)
	loadSecret := func(ctx context.Context) (string, error) { return secretRef.Load(ctx, d.Secrets) }
	secret, err := loadSecret(ctx)
	var reload func(context.Context) (string, error)
	if err != nil {
		// Fail closed: the function starts and refuses every delivery with 401, so that
		// GitHub records the failures and the redeliver job retries them once fixed. A
		// configured secret that could not be read is asked for again (once a minute).
		d.Log.Error("webhook secret unavailable", "err", err)
		secret = ""
		if !errors.Is(err, secrets.ErrMissing) {
			reload = loadSecret
		}
	}
	h := ingest.New(ingest.Config{
		QueueURL: queueURL,
		Secret:   secret,
		Reload:   reload,
		Log:      d.Log,
		Metrics:  d.Metrics,
	}, sqs.NewFromConfig(d.AWS))
	return h.Handle, nil
}
