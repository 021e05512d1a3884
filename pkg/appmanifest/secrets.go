package appmanifest

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/ghapp"
)

// SecretsManager is the part of the Secrets Manager client the manifest flow uses.
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// Secrets names (by ARN) the Secrets Manager secrets that receive the App's credentials.
type Secrets struct {
	PrivateKeyARN    string // the PEM key
	WebhookSecretARN string // the webhook secret
	ClientSecretARN  string // the OAuth client secret
	RegistrationARN  string // Registration as JSON: the App's id, slug and client id
}

// Complete reports whether every ARN is set: the manifest flow stores all or nothing.
func (s Secrets) Complete() bool {
	return s.PrivateKeyARN != "" && s.WebhookSecretARN != "" && s.ClientSecretARN != "" && s.RegistrationARN != ""
}

// Registration is what identifies the App without being secret. The manifest flow stores
// it as JSON in the registration secret, so that the API can start the installation
// flow, and the processor and redeliver functions act as the App (ghapp.NewFromEnv),
// before the stack parameters (GitHubAppId, GitHubAppSlug, GitHubClientId) are set.
type Registration struct {
	AppID    int64  `json:"app_id"`
	Slug     string `json:"slug"`
	ClientID string `json:"client_id"`
	Name     string `json:"name,omitempty"`
	Owner    string `json:"owner,omitempty"`
	HTMLURL  string `json:"html_url,omitempty"`
}

// LoadRegistration reads the registration secret. A secret that holds no App id yet (the
// template's placeholder) is a zero Registration, not an error.
func LoadRegistration(ctx context.Context, sm SecretsManager, arn string) (Registration, error) {
	v, err := getSecret(ctx, sm, arn)
	if err != nil {
		return Registration{}, err
	}
	var r Registration
	if json.Unmarshal([]byte(v), &r) != nil {
		return Registration{}, nil
	}
	return r, nil
}

// Configured reports whether an App is registered already: the registration secret
// names an App id, or the private key secret holds a PEM key. Any failure to tell is an
// error, which callers treat as "configured" (fail closed).
func (s Secrets) Configured(ctx context.Context, sm SecretsManager) (bool, error) {
	reg, err := LoadRegistration(ctx, sm, s.RegistrationARN)
	if err != nil {
		return true, err
	}
	if reg.AppID != 0 {
		return true, nil
	}
	key, err := getSecret(ctx, sm, s.PrivateKeyARN)
	if err != nil {
		return true, err
	}
	return IsPEM(key), nil
}

// IsPEM reports whether s holds a PEM block (a private key rather than a placeholder).
func IsPEM(s string) bool {
	b, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	return b != nil
}

// Save stores the App's credentials: webhook secret, client secret, private key and,
// last, the registration. The key and the registration are what Configured looks at, so
// a failure part-way leaves the flow open to be tried again.
func (s Secrets) Save(ctx context.Context, sm SecretsManager, c ghapp.AppCredentials) error {
	if !s.Complete() {
		return errors.New("save App credentials: secret ARNs not configured")
	}
	reg, err := json.Marshal(Registration{AppID: c.ID, Slug: c.Slug, ClientID: c.ClientID, Name: c.Name, Owner: c.OwnerLogin, HTMLURL: c.HTMLURL})
	if err != nil {
		return fmt.Errorf("save App credentials: %w", err)
	}
	for _, w := range []struct{ what, arn, value string }{
		{"webhook secret", s.WebhookSecretARN, c.WebhookSecret},
		{"client secret", s.ClientSecretARN, c.ClientSecret},
		{"private key", s.PrivateKeyARN, string(c.PEM)},
		{"registration", s.RegistrationARN, string(reg)},
	} {
		if w.value == "" {
			return fmt.Errorf("save App credentials: GitHub returned no %s", w.what)
		}
		_, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(w.arn), SecretString: aws.String(w.value)})
		if err != nil {
			return fmt.Errorf("save App credentials: store %s: %w", w.what, err)
		}
	}
	return nil
}

func getSecret(ctx context.Context, sm SecretsManager, arn string) (string, error) {
	if sm == nil || arn == "" {
		return "", errors.New("secret ARN or Secrets Manager client missing")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return aws.ToString(out.SecretString), nil
}
