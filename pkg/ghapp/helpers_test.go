package ghapp

import (
	"context"
	"maps"
	"sync"
	"testing"
	"time"

	smithytime "github.com/aws/smithy-go/time"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// sleeps records the waits between attempts.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	real  bool
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	if s.real {
		return smithytime.SleepWithContext(ctx, d)
	}
	return ctx.Err()
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// env is a sandbox and a Client talking to it.
type env struct {
	sb     *ghsandbox.Sandbox
	url    string
	c      *Client
	logs   *testkit.LogBuffer
	sleeps *sleeps
}

// newEnv starts a sandbox and a client for it. mod may adjust the client's Config.
func newEnv(t *testing.T, opts ghsandbox.Options, mod ...func(*Config)) *env {
	t.Helper()
	sb, u := ghsandbox.NewServer(t, opts)
	e := &env{sb: sb, url: u, logs: &testkit.LogBuffer{}, sleeps: &sleeps{}}
	e.c = e.client(t, mod...)
	return e
}

// client builds another Client for the env's sandbox.
func (e *env) client(t *testing.T, mod ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		AppID:        e.sb.AppID(),
		PrivateKey:   e.sb.PrivateKeyPEM(),
		APIURL:       e.url,
		WebURL:       e.url,
		ClientID:     e.sb.ClientID(),
		ClientSecret: e.sb.ClientSecret(),
		Log:          e.logs.Logger(),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.sleep = e.sleeps.sleep
	return c
}

func (e *env) write(t *testing.T, owner, repo, path, data string) {
	t.Helper()
	if err := e.sb.WriteFile(owner, repo, path, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// testKeyPEM returns the sandbox's App private key (PEM).
func testKeyPEM(t testing.TB) []byte {
	t.Helper()
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// apiCalls counts the client's API calls by operation (Config.OnAPICall).
type apiCalls struct {
	mu sync.Mutex
	n  map[string]int
}

// option is the env option that makes the client report its calls to c.
func (c *apiCalls) option() func(*Config) {
	return func(cfg *Config) {
		cfg.OnAPICall = func(op string, _ int, _ error) {
			c.mu.Lock()
			defer c.mu.Unlock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[op]++
		}
	}
}

// counts returns the counts so far.
func (c *apiCalls) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}
