package ghapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/secrets"
)

// Environment variables of the App's identity and GitHub's addresses.
const (
	EnvAppID         = "GITHUB_APP_ID"
	EnvAppPrivateKey = "GITHUB_APP_PRIVATE_KEY" // or GITHUB_APP_PRIVATE_KEY_ARN
	EnvAPIURL        = "GITHUB_API_URL"
	EnvWebURL        = "GITHUB_WEB_URL"
	// EnvAppRegistrationARN names the Secrets Manager secret the manifest flow writes the
	// registered App's id into (JSON {"app_id": ...}); read when GITHUB_APP_ID is unset.
	EnvAppRegistrationARN = "GITHUB_APP_REGISTRATION_ARN"
)

// NewFromEnv is New with the App id, private key and GitHub URLs read from the
// environment where cfg leaves them empty: GITHUB_APP_ID (or, when it is unset, the App id
// in the registration secret named by GITHUB_APP_REGISTRATION_ARN, so that an App
// registered through the manifest flow works without redeploying the stack),
// GITHUB_APP_PRIVATE_KEY (or the Secrets Manager secret named by
// GITHUB_APP_PRIVATE_KEY_ARN), GITHUB_API_URL and GITHUB_WEB_URL. Secrets are read
// through sm. The functions that act as the App share it.
func NewFromEnv(ctx context.Context, sm secrets.Getter, cfg Config) (*Client, error) {
	return newFromLookup(ctx, sm, cfg, os.Getenv)
}

func newFromLookup(ctx context.Context, sm secrets.Getter, cfg Config, getenv func(string) string) (*Client, error) {
	if cfg.AppID == 0 {
		id, err := appID(ctx, sm, getenv)
		if err != nil {
			return nil, err
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

// appID is GITHUB_APP_ID when set, else the App id in the registration secret.
func appID(ctx context.Context, sm secrets.Getter, getenv func(string) string) (int64, error) {
	if v := strings.TrimSpace(getenv(EnvAppID)); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return 0, errors.New(EnvAppID + " is not set to the App's numeric id")
		}
		return id, nil
	}
	arn := getenv(EnvAppRegistrationARN)
	if arn == "" {
		return 0, errors.New("no App id: set " + EnvAppID + ", or " + EnvAppRegistrationARN + " to the registration secret the manifest flow writes")
	}
	id, err := RegisteredAppID(ctx, sm, arn)
	if err != nil {
		return 0, err
	}
	if id <= 0 {
		return 0, errors.New("no App id: " + EnvAppID + " is unset and the registration secret names no App yet (register the App through the manifest flow)")
	}
	return id, nil
}

// RegisteredAppID reads the App id from the registration secret arn (the manifest flow's
// JSON, {"app_id": ...}); 0 when the secret holds no App id yet (the template's
// placeholder).
func RegisteredAppID(ctx context.Context, sm secrets.Getter, arn string) (int64, error) {
	if sm == nil {
		return 0, errors.New(EnvAppRegistrationARN + " set but no Secrets Manager client")
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
