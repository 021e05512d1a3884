package ghapp

import (
	"context"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

func TestNewFromEnv(t *testing.T) {
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]string{
		config.GitHubAppID: " 42 ", config.GitHubAppPrivateKey: string(key),
		config.GitHubAPIURL: "https://ghe.example.com/api/v3/", config.GitHubWebURL: "https://ghe.example.com/",
	}
	env := config.NewEnv(config.Processor, func(k string) string { return full[k] })
	c, err := NewFromEnv(context.Background(), env, nil, Config{})
	if err != nil {
		t.Fatalf("NewFromEnv(full env) error = %v", err)
	}
	if c.cfg.AppID != 42 || c.apiBase.String() != full[config.GitHubAPIURL] || c.webBase.String() != full[config.GitHubWebURL] {
		t.Errorf("NewFromEnv(full env) = app %d, api %s, web %s; want 42 and the env URLs", c.cfg.AppID, c.apiBase, c.webBase)
	}

	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"no app id", map[string]string{config.GitHubAppPrivateKey: string(key)}, "GITHUB_APP_ID is not set"},
		{"bad app id", map[string]string{config.GitHubAppID: "abc", config.GitHubAppPrivateKey: string(key)}, `GITHUB_APP_ID="abc"`},
		{"no key", map[string]string{config.GitHubAppID: "42"}, "GITHUB_APP_PRIVATE_KEY is not set"},
		{"bad url", map[string]string{config.GitHubAppID: "42", config.GitHubAppPrivateKey: string(key), config.GitHubAPIURL: "api.github.com"}, `GITHUB_API_URL="api.github.com"`},
		{"unreadable key", map[string]string{config.GitHubAppID: "42", config.GitHubAppPrivateKey + "_ARN": "arn:aws:secretsmanager:r:1:secret:k"}, "app private key: GITHUB_APP_PRIVATE_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := config.NewEnv(config.Redeliver, func(k string) string { return tt.env[k] })
			_, err := NewFromEnv(context.Background(), env, nil, Config{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewFromEnv(%v) error = %v, want one containing %q", tt.env, err, tt.wantErr)
			}
		})
	}
}
