package ghapp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/secrets"
)

func TestNewFromEnv(t *testing.T) {
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	full := map[string]string{
		EnvAppID: " 42 ", EnvAppPrivateKey: string(key),
		EnvAPIURL: "https://ghe.example.com/api/v3/", EnvWebURL: "https://ghe.example.com/",
	}
	c, err := newFromLookup(context.Background(), nil, Config{}, func(k string) string { return full[k] })
	if err != nil {
		t.Fatalf("newFromLookup(full env) error = %v", err)
	}
	if c.cfg.AppID != 42 || c.apiBase.String() != full[EnvAPIURL] || c.webBase.String() != full[EnvWebURL] {
		t.Errorf("newFromLookup(full env) = app %d, api %s, web %s; want 42 and the env URLs", c.cfg.AppID, c.apiBase, c.webBase)
	}

	tests := []struct {
		name    string
		env     map[string]string
		wantErr error
	}{
		{"no app id", map[string]string{EnvAppPrivateKey: string(key)}, nil},
		{"bad app id", map[string]string{EnvAppID: "abc", EnvAppPrivateKey: string(key)}, nil},
		{"no key", map[string]string{EnvAppID: "42"}, secrets.ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newFromLookup(context.Background(), nil, Config{}, func(k string) string { return tt.env[k] })
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("newFromLookup(%s) error = %v, want an error (%v)", tt.name, err, tt.wantErr)
			}
		})
	}
}

// secretMap is a Secrets Manager stand-in at our secrets.Getter interface: ARN to value.
type secretMap map[string]string

func (m secretMap) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := m[aws.ToString(in.SecretId)]
	if !ok {
		return nil, errors.New("ResourceNotFoundException: no such secret")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

// TestNewFromEnvRegistration: with GITHUB_APP_ID unset, the App id comes from the
// registration secret the manifest flow writes, so the processor and redeliver functions
// start once the App is registered, without a second deployment.
func TestNewFromEnvRegistration(t *testing.T) {
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	sm := secretMap{
		"arn:key":         string(key),
		"arn:reg":         `{"app_id":77,"slug":"repotrackr","client_id":"Iv1.x","name":"RepoTrackr"}`,
		"arn:placeholder": `{"pending":"register the App"}`,
	}
	byARN := map[string]string{EnvAppPrivateKey + "_ARN": "arn:key"}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for k, v := range byARN {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		getenv  func(string) string
		wantID  int64
		wantErr string // substring of the error; empty for success
	}{
		{"registration secret", env(EnvAppRegistrationARN, "arn:reg"), 77, ""},
		{"app id wins over the registration", env(EnvAppID, "42", EnvAppRegistrationARN, "arn:reg"), 42, ""},
		{"blank app id falls back", env(EnvAppID, " ", EnvAppRegistrationARN, "arn:reg"), 77, ""},
		{"not registered yet", env(EnvAppRegistrationARN, "arn:placeholder"), 0, "names no App yet"},
		{"registration unreadable", env(EnvAppRegistrationARN, "arn:gone"), 0, "read App registration secret"},
		{"neither", env(), 0, EnvAppRegistrationARN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newFromLookup(context.Background(), sm, Config{}, tt.getenv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("newFromLookup(%s) error = %v, want one containing %q", tt.name, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("newFromLookup(%s) error = %v", tt.name, err)
			}
			if c.cfg.AppID != tt.wantID {
				t.Errorf("newFromLookup(%s) app id = %d, want %d", tt.name, c.cfg.AppID, tt.wantID)
			}
		})
	}
	if _, err := newFromLookup(context.Background(), nil, Config{}, env(EnvAppRegistrationARN, "arn:reg")); err == nil {
		t.Errorf("newFromLookup(registration ARN, no client) error = nil, want an error")
	}
}
