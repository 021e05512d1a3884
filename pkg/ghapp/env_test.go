package ghapp

import (
	"context"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestNewFromEnv(t *testing.T) {
	key := testKeyPEM(t)
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
		{"no app id", map[string]string{config.GitHubAppPrivateKey: string(key)}, "no App id: set GITHUB_APP_ID"},
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

// TestNewFromEnvRegistration: with GITHUB_APP_ID unset, the App id comes from the
// registration secret the manifest flow writes, so the processor and redeliver functions
// start once the App is registered, without a second deployment.
func TestNewFromEnvRegistration(t *testing.T) {
	key := testKeyPEM(t)
	const (
		keyARN         = "arn:aws:secretsmanager:us-east-1:123456789012:secret:key"
		regARN         = "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg"
		placeholderARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:placeholder"
		goneARN        = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone"
	)
	sm := testkit.NewSecrets(map[string]string{
		keyARN:         string(key),
		regARN:         `{"app_id":77,"slug":"repotrackr","client_id":"Iv1.x","name":"RepoTrackr"}`,
		placeholderARN: `{"pending":"register the App"}`,
	})
	env := func(kv ...string) *config.Env {
		m := map[string]string{config.GitHubAppPrivateKey + "_ARN": keyARN}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return config.NewEnv(config.Processor, func(k string) string { return m[k] })
	}
	tests := []struct {
		name    string
		env     *config.Env
		wantID  int64
		wantErr string // substring of the error; empty for success
	}{
		{"registration secret", env(config.GitHubAppRegistration, regARN), 77, ""},
		{"app id wins over the registration", env(config.GitHubAppID, "42", config.GitHubAppRegistration, regARN), 42, ""},
		{"not registered yet", env(config.GitHubAppRegistration, placeholderARN), 0, "names no App yet"},
		{"registration unreadable", env(config.GitHubAppRegistration, goneARN), 0, "read App registration secret"},
		{"neither", env(), 0, config.GitHubAppRegistration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewFromEnv(context.Background(), tt.env, sm, Config{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("NewFromEnv(%s) error = %v, want one containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewFromEnv(%s) error = %v", tt.name, err)
			}
			if c.cfg.AppID != tt.wantID {
				t.Errorf("NewFromEnv(%s) app id = %d, want %d", tt.name, c.cfg.AppID, tt.wantID)
			}
		})
	}
	if _, err := NewFromEnv(context.Background(), env(config.GitHubAppRegistration, regARN), nil, Config{}); err == nil {
		t.Errorf("NewFromEnv(registration ARN, no client) error = nil, want an error")
	}
}
