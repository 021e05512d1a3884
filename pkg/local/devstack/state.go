package devstack

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Files under the state directory (.devstack).
const (
	fileWebhookSecret = "webhook-secret"
	fileToken         = "token"
	fileJWTKey        = "keys/jwt.pem"
	fileAppKey        = "keys/github-app.pem"
	fileInfo          = "stack.json"
	dirSecrets        = "secrets"
	dirGitHub         = "github"
	dirDynamoDB       = "dynamodb"
	dirSQS            = "sqs"
	dirLogs           = "logs"
	dirBin            = "bin"
)

// fileRegistrationToken opens the App registration routes, as the template's
// AppRegistrationTokenSecret does in AWS.
const fileRegistrationToken = "registration-token"

// state is the stack's directory of keys, secrets, data and logs.
type state struct{ dir string }

func (s state) path(rel string) string { return filepath.Join(s.dir, filepath.FromSlash(rel)) }

// secretFile returns the value kept in rel, creating a random one (hex) when absent, so
// that a restart keeps every secret and what was signed with it.
func (s state) secretFile(rel string) (string, error) {
	return s.keptValue(rel, func() string { return randomHex(24) })
}

// webhookSecret is the dev webhook secret, DevWebhookSecret until the file says otherwise.
func (s state) webhookSecret() (string, error) {
	return s.keptValue(fileWebhookSecret, func() string { return DevWebhookSecret })
}

// keptValue returns the value kept in rel; when the file is absent or blank it keeps
// first() there and returns that.
func (s state) keptValue(rel string, first func() string) (string, error) {
	p := s.path(rel)
	if b, err := os.ReadFile(p); err == nil {
		if v := strings.TrimSpace(string(b)); v != "" {
			return v, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", p, err)
	}
	v := first()
	if err := writePrivate(p, []byte(v+"\n")); err != nil {
		return "", err
	}
	return v, nil
}

var secretName = regexp.MustCompile(`^[A-Z0-9_]+$`)

// namedSecret is the local value of a function secret that has no dedicated source.
func (s state) namedSecret(name string) (string, error) {
	if !secretName.MatchString(name) {
		return "", fmt.Errorf("secret name %q", name)
	}
	return s.secretFile(dirSecrets + "/" + name)
}

func writePrivate(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Info describes a running stack. `devstack up` writes it to .devstack/stack.json for
// `devstack demo` and `devstack invoke`, and removes it when it stops.
type Info struct {
	PID           int       `json:"pid"`
	StartedAt     time.Time `json:"started_at"`
	GatewayURL    string    `json:"gateway_url"`
	GitHubMode    string    `json:"github_mode"` // "sandbox" or "github"
	GitHubAPIURL  string    `json:"github_api_url"`
	GitHubWebURL  string    `json:"github_web_url"`
	DynamoDBURL   string    `json:"dynamodb_url"`
	SQSURL        string    `json:"sqs_url"`
	CloudWatchURL string    `json:"cloudwatch_url,omitempty"`
	DevUser       string    `json:"dev_user"`
	DemoRepo      string    `json:"demo_repo,omitempty"`
	// Watching says the sandbox sends a push when files under its root change.
	Watching  bool      `json:"watching,omitempty"`
	Resources Resources `json:"resources"`
}

// GitHub modes of Info.
const (
	ModeSandbox = "sandbox"
	ModeGitHub  = "github"
)

func (s state) writeInfo(info *Info) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return fmt.Errorf("encode stack info: %w", err)
	}
	return writePrivate(s.path(fileInfo), append(b, '\n'))
}

// ReadInfo returns the running stack described under stateDir, or an error saying that
// no stack runs (`make dev` first).
func ReadInfo(stateDir string) (*Info, error) {
	b, err := os.ReadFile(filepath.Join(stateDir, fileInfo))
	if errors.Is(err, os.ErrNotExist) {
		return nil, ErrNotRunning
	}
	if err != nil {
		return nil, fmt.Errorf("read stack info: %w", err)
	}
	var info Info
	if err := json.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("read stack info: %w", err)
	}
	if !processAlive(info.PID) || !answers(info.GatewayURL) {
		return nil, ErrNotRunning
	}
	return &info, nil
}

// ErrNotRunning means no local stack runs for this state directory.
var ErrNotRunning = errors.New("the local stack is not running: start it with `make dev`")

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

func answers(url string) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
