package secrets

import (
	"context"
	"errors"
	"testing"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestGet(t *testing.T) {
	sm := testkit.NewSecrets(map[string]string{"arn:plain": "s3cret", "arn:json": `{"value":"fromjson"}`, "arn:other": `{"key":"x"}`, "arn:empty": ""})
	tests := []struct {
		arn     string
		want    string
		wantErr bool
		isMiss  bool
	}{
		{"arn:plain", "s3cret", false, false},
		{"arn:json", "fromjson", false, false},
		{"arn:other", `{"key":"x"}`, false, false},
		{"arn:empty", "", true, true},
		{"arn:nope", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.arn, func(t *testing.T) {
			got, err := Get(context.Background(), sm, tt.arn)
			if got != tt.want || (err != nil) != tt.wantErr || errors.Is(err, ErrMissing) != tt.isMiss {
				t.Errorf("Get(%s) = %q, %v, want %q (error %v, missing %v)", tt.arn, got, err, tt.want, tt.wantErr, tt.isMiss)
			}
		})
	}
	if _, err := Get(context.Background(), nil, "arn:plain"); err == nil {
		t.Errorf("Get(nil client) error = nil, want an error")
	}
}
