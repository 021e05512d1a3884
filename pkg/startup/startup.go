// Package startup is what every function's main does before it hands its handler to the
// Lambda runtime: a JSON logger, the function's environment read through the config
// registry, the AWS SDK configuration, a Secrets Manager client and a metrics emitter,
// built once per container. A function that cannot start logs why and exits non-zero.
package startup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

// Deps is what a function's setup builds its handler from.
type Deps struct {
	// Env reads the function's variables, all checked already; a read of a variable the
	// registry does not list for the function fails the start.
	Env *config.Env
	Log *slog.Logger
	// AWS is the SDK configuration: the SDK reads region, credentials and
	// AWS_ENDPOINT_URL(_<SERVICE>) itself (the local stack points them at its stand-ins).
	AWS aws.Config
	// Secrets is a Secrets Manager client, for config.SecretRef.Load.
	Secrets *secretsmanager.Client
	// Metrics writes EMF lines to stdout in the namespace METRICS_NAMESPACE.
	Metrics *metrics.Emitter
}

// Setup builds a function's handler, anything lambda.Start accepts.
type Setup func(ctx context.Context, d *Deps) (handler any, err error)

// Run starts the function fn: it builds Deps, calls setup and hands its handler to
// lambda.Start. When setup fails or any variable is misconfigured, it logs
// "<fn> stopped" with the reason and exits with status 1. Run does not return.
func Run(fn config.Function, setup Setup) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	handler, err := start(context.Background(), fn, os.Getenv, os.Stdout, log, setup)
	if err != nil {
		log.Error(string(fn)+" stopped", "err", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// start is Run up to lambda.Start. Every variable the registry lists for fn is checked
// before setup runs, so that a misconfigured one stops the function before it calls
// anything; configuration errors found by setup's own reads (a variable the registry does
// not list for fn) take precedence over setup's error, which they would explain.
func start(ctx context.Context, fn config.Function, getenv func(string) string, stdout io.Writer, log *slog.Logger, setup Setup) (any, error) {
	env := config.NewEnv(fn, getenv)
	env.Validate()
	if err := env.Err(); err != nil {
		return nil, err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	d := &Deps{
		Env:     env,
		Log:     log,
		AWS:     cfg,
		Secrets: secretsmanager.NewFromConfig(cfg),
		Metrics: metrics.New(stdout, env.Text(config.MetricsNamespace)),
	}
	handler, err := setup(ctx, d)
	if cerr := env.Err(); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	if handler == nil {
		return nil, fmt.Errorf("%s: setup returned no handler", fn)
	}
	return handler, nil
}
