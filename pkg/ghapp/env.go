package ghapp

import (
	"context"
	"fmt"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/secrets"
)

// NewFromEnv is New for the functions that act as the App and cannot work without it
// (processor, redeliver): the App id, the private key and GitHub's URLs come from env
// (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY or its _ARN read through sm, GITHUB_API_URL,
// GITHUB_WEB_URL) and the rest from cfg.
func NewFromEnv(ctx context.Context, env *config.Env, sm secrets.Getter, cfg Config) (*Client, error) {
	cfg.AppID = env.Int(config.GitHubAppID)
	cfg.APIURL = env.URL(config.GitHubAPIURL)
	cfg.WebURL = env.URL(config.GitHubWebURL)
	keyRef := env.Secret(config.GitHubAppPrivateKey)
	if err := env.Err(); err != nil {
		return nil, err
	}
	key, err := keyRef.Load(ctx, sm)
	if err != nil {
		return nil, fmt.Errorf("app private key: %w", err)
	}
	cfg.PrivateKey = []byte(key)
	return New(cfg)
}
