package ghapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/secrets"
)

// NewFromEnv is New for the functions that act as the App and cannot work without it
// (processor, redeliver): the App id, the private key and GitHub's URLs come from env
// (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY or its _ARN read through sm, GITHUB_API_URL,
// GITHUB_WEB_URL) and the rest from cfg. With GITHUB_APP_ID unset the App id is read from
// the registration secret the manifest flow writes (GITHUB_APP_REGISTRATION_ARN), so an
// App registered through the manifest flow works without redeploying the stack.
func NewFromEnv(ctx context.Context, env *config.Env, sm secrets.Getter, cfg Config) (*Client, error) {
	cfg.AppID = env.Int(config.GitHubAppID)
	cfg.APIURL = env.URL(config.GitHubAPIURL)
	cfg.WebURL = env.URL(config.GitHubWebURL)
	registration := env.ARN(config.GitHubAppRegistration)
	keyRef := env.Secret(config.GitHubAppPrivateKey)
	if err := env.Err(); err != nil {
		return nil, err
	}
	if cfg.AppID == 0 {
		id, err := registeredAppID(ctx, sm, registration)
		if err != nil {
			return nil, err
		}
		cfg.AppID = id
	}
	key, err := keyRef.Load(ctx, sm)
	if err != nil {
		return nil, fmt.Errorf("app private key: %w", err)
	}
	cfg.PrivateKey = []byte(key)
	return New(cfg)
}

// registeredAppID is the App id in the registration secret, when GITHUB_APP_ID is unset.
func registeredAppID(ctx context.Context, sm secrets.Getter, arn string) (int64, error) {
	if arn == "" {
		return 0, errors.New("no App id: set " + config.GitHubAppID + ", or " + config.GitHubAppRegistration + " to the registration secret the manifest flow writes")
	}
	id, err := RegisteredAppID(ctx, sm, arn)
	if err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, errors.New("no App id: " + config.GitHubAppID + " is unset and the registration secret names no App yet (register the App through the manifest flow)")
	}
	return id, nil
}

// RegisteredAppID reads the App id from the registration secret arn (the manifest flow's
// JSON, {"app_id": ...}); 0 when the secret holds no App id yet (the template's
// placeholder).
func RegisteredAppID(ctx context.Context, sm secrets.Getter, arn string) (int64, error) {
	if sm == nil {
		return 0, errors.New(config.GitHubAppRegistration + " set but no Secrets Manager client")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return 0, fmt.Errorf("read App registration secret: %w", err)
	}
	var reg struct {
		AppID int64 `json:"app_id"`
	}
	if json.Unmarshal([]byte(aws.ToString(out.SecretString)), &reg) != nil {
		return 0, nil
	}
	return reg.AppID, nil
}
