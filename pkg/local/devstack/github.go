package devstack

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
)

// GitHubAppFromEnv returns the real GitHub App configured in the environment, or nil for
// the sandbox. A real App needs GITHUB_APP_ID and its key (GITHUB_APP_PRIVATE_KEY, the
// PEM, or GITHUB_APP_PRIVATE_KEY_FILE, its path); GITHUB_API_URL and GITHUB_WEB_URL,
// when set, point at GitHub Enterprise Server, else github.com is used. GITHUB_CLIENT_ID,
// GITHUB_CLIENT_SECRET, GITHUB_APP_SLUG and GITHUB_WEBHOOK_SECRET complete it.
func GitHubAppFromEnv() (*GitHubApp, error) {
	id := os.Getenv("GITHUB_APP_ID")
	if id == "" {
		return nil, nil
	}
	key := []byte(os.Getenv("GITHUB_APP_PRIVATE_KEY"))
	if f := os.Getenv("GITHUB_APP_PRIVATE_KEY_FILE"); len(key) == 0 && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("GITHUB_APP_PRIVATE_KEY_FILE: %w", err)
		}
		key = b
	}
	if len(key) == 0 {
		return nil, errors.New("GITHUB_APP_ID is set without GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE: set both for a real GitHub App, or neither for the sandbox")
	}
	return &GitHubApp{
		AppID:         id,
		PrivateKey:    key,
		ClientID:      os.Getenv("GITHUB_CLIENT_ID"),
		ClientSecret:  os.Getenv("GITHUB_CLIENT_SECRET"),
		AppSlug:       os.Getenv("GITHUB_APP_SLUG"),
		APIURL:        os.Getenv("GITHUB_API_URL"),
		WebURL:        os.Getenv("GITHUB_WEB_URL"),
		WebhookSecret: os.Getenv("GITHUB_WEBHOOK_SECRET"),
	}, nil
}

// SignToken signs a bearer token for user with the stack's key under stateDir, which the
// running stack (and any later one on the same state) accepts.
func SignToken(stateDir, user string, ttl time.Duration) (string, error) {
	key, err := jwtauth.LoadOrCreateKey(state{dir: stateDir}.path(fileJWTKey))
	if err != nil {
		return "", err
	}
	return key.Sign(jwtauth.Token{
		Issuer: JWTIssuer, Audience: []string{JWTAudience}, Subject: user, TTL: ttl,
		Extra: map[string]any{"username": user},
	})
}
