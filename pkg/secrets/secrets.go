// Package secrets reads a function's secrets from AWS Secrets Manager. Where a secret
// comes from (its value given directly, or the ARN of a Secrets Manager secret) is
// configuration: config.SecretRef. Read once at start, never logged.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// ErrMissing means a secret is not configured, or is configured but empty.
var ErrMissing = errors.New("secret not configured")

// Getter is the one Secrets Manager call used.
type Getter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Get returns the value of the Secrets Manager secret arn. A JSON object secret with a
// "value" key yields that key (the console's key/value form); an empty secret is
// ErrMissing.
func Get(ctx context.Context, sm Getter, arn string) (string, error) {
	if sm == nil {
		return "", errors.New("no Secrets Manager client")
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
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
		return "", fmt.Errorf("%w (empty secret)", ErrMissing)
	}
	return v, nil
}
