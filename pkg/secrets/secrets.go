// Package secrets reads a function's secrets: from AWS Secrets Manager when the
// environment names an ARN (NAME_ARN), as in AWS, or from the value itself (NAME), as the
// local stack and tests do. Read once at init, never logged.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ErrMissing means neither NAME nor NAME_ARN is set.
var ErrMissing = errors.New("secret not configured")

// Getter is the one Secrets Manager call used.
type Getter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Load returns the secret named by the environment variable name: the value of name
// itself, or else the Secrets Manager secret whose ARN is in name+"_ARN". A JSON object
// secret with a "value" key yields that key (the console's key/value form). sm may be nil
// when no ARN is configured.
func Load(ctx context.Context, sm Getter, name string) (string, error) {
	return LoadFrom(ctx, sm, name, os.Getenv)
}

// LoadFrom is Load with an explicit environment lookup.
func LoadFrom(ctx context.Context, sm Getter, name string, getenv func(string) string) (string, error) {
	if v := getenv(name); v != "" {
		return v, nil
	}
	arn := getenv(name + "_ARN")
	if arn == "" {
		return "", fmt.Errorf("%s: %w", name, ErrMissing)
	}
	if sm == nil {
		return "", fmt.Errorf("%s_ARN set but no Secrets Manager client", name)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", name, err)
	}
	v := aws.ToString(out.SecretString)
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		var kv map[string]string
		if json.Unmarshal([]byte(v), &kv) == nil {
			if s, ok := kv["value"]; ok {
				v = s
			}
		}
	}
	if v == "" {
		return "", fmt.Errorf("%s: %w (empty secret)", name, ErrMissing)
	}
	return v, nil
}
