package startup

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

func TestStart(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	handler := func() {}
	tests := []struct {
		name    string
		env     map[string]string
		setup   Setup
		wantErr string // "" for a handler
	}{
		{"ok", map[string]string{config.QueueURL: "https://sqs.example.com/1/q"}, func(_ context.Context, d *Deps) (any, error) {
			d.Env.URL(config.QueueURL)
			return handler, nil
		}, ""},
		{"misconfigured", map[string]string{config.QueueURL: "not a url"}, func(_ context.Context, d *Deps) (any, error) {
			d.Env.URL(config.QueueURL)
			return handler, nil
		}, `ingest configuration: QUEUE_URL="not a url"`},
		{"misconfigured before setup runs", nil, func(context.Context, *Deps) (any, error) {
			// Reached only if start let a missing required variable through: its error
			// would then not be the one the case wants.
			return nil, errors.New("setup ran with QUEUE_URL unset")
		}, "QUEUE_URL is not set"},
		{"config error wins over setup's", map[string]string{config.QueueURL: "https://sqs.example.com/1/q"}, func(_ context.Context, d *Deps) (any, error) {
			d.Env.Text(config.ProjectsTable) // not ingest's
			return nil, errors.New("no table")
		}, "PROJECTS_TABLE is read by ingest but the registry does not list it for ingest"},
		{"setup error", map[string]string{config.QueueURL: "https://sqs.example.com/1/q"}, func(context.Context, *Deps) (any, error) {
			return nil, errors.New("boom")
		}, "boom"},
		{"no handler", map[string]string{config.QueueURL: "https://sqs.example.com/1/q"}, func(context.Context, *Deps) (any, error) { return nil, nil }, "no handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := start(context.Background(), config.Ingest, func(k string) string { return tt.env[k] }, &bytes.Buffer{}, slog.New(slog.DiscardHandler), tt.setup)
			if tt.wantErr == "" {
				if err != nil || h == nil {
					t.Errorf("start() = %v, %v, want a handler", h, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("start() error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStartDeps(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	var out bytes.Buffer
	log := slog.New(slog.DiscardHandler)
	var got *Deps
	_, err := start(context.Background(), config.Redeliver, func(k string) string {
		return map[string]string{config.MetricsNamespace: "Test/NS", config.GitHubAppID: "1", config.GitHubAppPrivateKey: "k"}[k]
	}, &out, log, func(_ context.Context, d *Deps) (any, error) {
		got = d
		return func() {}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Log != log || got.Secrets == nil || got.AWS.Region != "eu-west-1" || got.Env.Function() != config.Redeliver {
		t.Errorf("Deps = %+v, want the logger, a Secrets Manager client, the region and redeliver's Env", got)
	}
	got.Metrics.Emit("", "", nil, metrics.Count("X", 1))
	if !strings.Contains(out.String(), `"Namespace":"Test/NS"`) {
		t.Errorf("metrics line = %s, want namespace Test/NS", out.String())
	}
}
