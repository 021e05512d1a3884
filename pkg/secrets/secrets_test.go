package secrets

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

type fakeSM map[string]string

func (f fakeSM) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	v, ok := f[aws.ToString(in.SecretId)]
	if !ok {
		return nil, errors.New("ResourceNotFoundException")
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(v)}, nil
}

func TestLoadFrom(t *testing.T) {
	sm := fakeSM{"arn:plain": "s3cret", "arn:json": `{"value":"fromjson"}`, "arn:empty": ""}
	tests := []struct {
		name    string
		env     map[string]string
		want    string
		wantErr error
	}{
		{"value wins", map[string]string{"S": "direct", "S_ARN": "arn:plain"}, "direct", nil},
		{"arn", map[string]string{"S_ARN": "arn:plain"}, "s3cret", nil},
		{"json value", map[string]string{"S_ARN": "arn:json"}, "fromjson", nil},
		{"missing", map[string]string{}, "", ErrMissing},
		{"empty secret", map[string]string{"S_ARN": "arn:empty"}, "", ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadFrom(context.Background(), sm, "S", func(k string) string { return tt.env[k] })
			if got != tt.want || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) || (tt.wantErr == nil && err != nil) {
				t.Errorf("LoadFrom(S) = %q, %v, want %q, %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := LoadFrom(context.Background(), sm, "S", func(k string) string { return map[string]string{"S_ARN": "arn:nope"}[k] }); err == nil {
		t.Errorf("LoadFrom(unknown arn) error = nil, want an error")
	}
}
