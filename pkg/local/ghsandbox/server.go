package ghsandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

var (
	testKeyOnce sync.Once
	testKeyPEM  []byte
	testKeyErr  error
)

// TestKeyPEM returns an RSA key generated once per process, so that many test servers do
// not each pay for key generation.
func TestKeyPEM() ([]byte, error) {
	testKeyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			testKeyErr = err
			return
		}
		testKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	})
	return testKeyPEM, testKeyErr
}

// NewServer starts a Sandbox on 127.0.0.1 for the test and stops it (and its watcher) at
// cleanup. It
// returns the sandbox and its base URL (no trailing slash), which serves as both the API
// and the web URL. An empty opts.Root becomes a fresh temporary directory; a nil
// opts.PrivateKeyPEM becomes TestKeyPEM's key.
func NewServer(t testing.TB, opts Options) (*Sandbox, string) {
	t.Helper()
	if opts.Root == "" {
		opts.Root = t.TempDir()
	}
	if opts.PrivateKeyPEM == nil {
		key, err := TestKeyPEM()
		if err != nil {
			t.Fatalf("ghsandbox: generate test key: %v", err)
		}
		opts.PrivateKeyPEM = key
	}
	// The server starts first, so that the sandbox knows its URL for the payloads it sends.
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	if opts.URL == "" {
		opts.URL = srv.URL
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("ghsandbox.New: %v", err)
	}
	h := s.Handler()
	handler.Store(&h)
	t.Cleanup(func() { _ = s.Close() })
	return s, srv.URL
}
