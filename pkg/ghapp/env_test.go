package ghapp

import (
	"context"
	"errors"
	"testing"

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
