package ghapp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/repotrackr/github-integration/pkg/secrets"
)

// Environment variables of the App's identity and GitHub's addresses.
const (
	EnvAppID         = "GITHUB_APP_ID"
	EnvAppPrivateKey = "GITHUB_APP_PRIVATE_KEY" // or GITHUB_APP_PRIVATE_KEY_ARN
	EnvAPIURL        = "GITHUB_API_URL"
	EnvWebURL        = "GITHUB_WEB_URL"
)

// NewFromEnv is New with the App id, private key and GitHub URLs read from the
// environment where cfg leaves them empty: GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY (or the
// Secrets Manager secret named by GITHUB_APP_PRIVATE_KEY_ARN, read through sm),
// GITHUB_API_URL and GITHUB_WEB_URL. The functions that act as the App share it.
func NewFromEnv(ctx context.Context, sm secrets.Getter, cfg Config) (*Client, error) {
	return newFromLookup(ctx, sm, cfg, os.Getenv)
}

func newFromLookup(ctx context.Context, sm secrets.Getter, cfg Config, getenv func(string) string) (*Client, error) {
	if cfg.AppID == 0 {
		id, err := strconv.ParseInt(strings.TrimSpace(getenv(EnvAppID)), 10, 64)
		if err != nil || id <= 0 {
			return nil, errors.New(EnvAppID + " is not set to the App's numeric id")
		}
		cfg.AppID = id
	}
	if len(cfg.PrivateKey) == 0 {
		key, err := secrets.LoadFrom(ctx, sm, EnvAppPrivateKey, getenv)
		if err != nil {
			return nil, fmt.Errorf("app private key: %w", err)
		}
		cfg.PrivateKey = []byte(key)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = getenv(EnvAPIURL)
	}
	if cfg.WebURL == "" {
		cfg.WebURL = getenv(EnvWebURL)
	}
	return New(cfg)
}
