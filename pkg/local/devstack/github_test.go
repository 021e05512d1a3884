package devstack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

func TestGitHubAppFromEnv(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(keyFile, []byte("PEM FROM FILE"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantNil bool
		wantErr bool
		wantKey string
	}{
		{name: "nothing set: the sandbox", env: map[string]string{}, wantNil: true},
		{name: "key in the environment", env: map[string]string{"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY": "PEM"}, wantKey: "PEM"},
		{name: "key in a file", env: map[string]string{"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY_FILE": keyFile}, wantKey: "PEM FROM FILE"},
		{name: "id without key", env: map[string]string{"GITHUB_APP_ID": "42"}, wantErr: true},
		{name: "unreadable key file", env: map[string]string{"GITHUB_APP_ID": "42", "GITHUB_APP_PRIVATE_KEY_FILE": keyFile + ".missing"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_FILE"} {
				t.Setenv(k, tc.env[k])
			}
			gh, err := GitHubAppFromEnv()
			if (err != nil) != tc.wantErr {
				t.Fatalf("GitHubAppFromEnv() error = %v, want error %t", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if (gh == nil) != tc.wantNil {
				t.Fatalf("GitHubAppFromEnv() = %+v, want nil %t", gh, tc.wantNil)
			}
			if gh != nil && string(gh.PrivateKey) != tc.wantKey {
				t.Errorf("PrivateKey = %q, want %q", gh.PrivateKey, tc.wantKey)
			}
		})
	}
}

// TestRealGitHubApp starts the stack's base with a real App configured: no sandbox runs,
// and the functions are pointed at github.com with the App's own credentials.
func TestRealGitHubApp(t *testing.T) {
	standin.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := standin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	app := &GitHubApp{AppID: "4242", PrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nreal\n"), ClientID: "Iv1.real", ClientSecret: "real-secret", AppSlug: "real-app", WebhookSecret: "real-webhook-secret"}
	// An empty RIE path would build the emulator; the base stack starts no function.
	s, err := start(ctx, Options{Root: root, StateDir: t.TempDir(), Ephemeral: true, FreePorts: true, RIE: "unused", GitHub: app}, true)
	if err != nil {
		t.Fatalf("start() error = %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if s.Sandbox != nil || s.Info.GitHubMode != ModeGitHub {
		t.Fatalf("sandbox = %v, mode %q: want no sandbox and mode %q", s.Sandbox, s.Info.GitHubMode, ModeGitHub)
	}
	fn, err := findFunction(s.tpl, "processor")
	if err != nil {
		t.Fatal(err)
	}
	env, err := FunctionEnv(s.tpl, fn, s.Info.Resources)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"GITHUB_APP_ID":          "4242",
		"GITHUB_API_URL":         "https://api.github.com/",
		"GITHUB_APP_PRIVATE_KEY": string(app.PrivateKey),
	} {
		if env[k] != want {
			t.Errorf("processor env %s = %q, want %q", k, env[k], want)
		}
	}
	if s.WebhookSecret != app.WebhookSecret {
		t.Errorf("webhook secret = %q, want the App's", s.WebhookSecret)
	}
	if !strings.Contains(s.Summary(), "https://api.github.com/") {
		t.Errorf("summary does not say it talks to GitHub:\n%s", s.Summary())
	}
}
