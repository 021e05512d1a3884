package ghsandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultAppID        = 424242
	DefaultAppSlug      = "repotrackr-sandbox"
	DefaultAppName      = "RepoTrackr (sandbox)"
	DefaultClientID     = "Iv1.sandbox00000000"
	DefaultClientSecret = "sandbox-client-secret"
	DefaultSandboxUser  = "sandbox-user"
	DefaultTokenTTL     = time.Hour
	DefaultUserTokenTTL = 8 * time.Hour
	// DefaultBranch is the default (and only) branch of every sandbox repository.
	DefaultBranch = "main"
	// DefaultMaxTreeEntries is GitHub's limit on the entries of a recursive tree answer.
	DefaultMaxTreeEntries = 100_000
)

// docsURL is the documentation_url GitHub puts in REST error answers.
const docsURL = "https://docs.github.com/rest"

// Options configures a Sandbox. Zero values take the defaults above.
type Options struct {
	// Root holds the repositories: <Root>/<owner>/<repo>/<path>. Required by New, which
	// creates it when missing.
	Root string
	// AppID, AppSlug and AppName identify the one App the sandbox serves.
	AppID   int64
	AppSlug string
	AppName string
	// PrivateKeyPEM is the App's RSA key (PKCS#1 or PKCS#8 PEM); New generates one when nil.
	PrivateKeyPEM []byte
	// ClientID and ClientSecret are the App's OAuth credentials.
	ClientID     string
	ClientSecret string
	// WebhookSecret is returned by the manifest conversion; random when empty.
	WebhookSecret string
	// SandboxUser is the login of the user who can access installation 1.
	SandboxUser string
	// TokenTTL is the lifetime of installation tokens; UserTokenTTL of OAuth user tokens.
	TokenTTL     time.Duration
	UserTokenTTL time.Duration
	// SetupURL is where the installation page sends the browser. A manifest's setup_url
	// sets it when this is empty.
	SetupURL string
	// StrictOAuthCodes makes the OAuth exchange accept only codes registered with
	// AddOAuthCode or issued by the installation page. Otherwise any other non-empty code
	// stands for the sandbox user, as the local stack needs.
	StrictOAuthCodes bool
	// Now is the sandbox clock (JWT checks, token and code expiry); time.Now when nil.
	Now func() time.Time
	// OnRedeliver is called for each redelivery request and returns the HTTP status the
	// new attempt records; 200 when nil.
	OnRedeliver func(Delivery) int
	// MaxTreeEntries caps the entries of one git trees answer; a longer listing is cut
	// and marked truncated, as GitHub does for huge trees. DefaultMaxTreeEntries when 0.
	MaxTreeEntries int

	// WebhookURL is the App's webhook URL. When set, the sandbox sends the App's webhooks
	// there as GitHub does (signed with WebhookSecret, recorded where GET
	// /app/hook/deliveries lists them, redelivered for real); when empty it sends none.
	WebhookURL string
	// NoWatch turns the watcher off: no webhook for changes of the files under Root,
	// for tests that send deliveries by hand. The issue and pull request endpoints and
	// redeliveries still send.
	NoWatch bool
	// Debounce is how long the watcher lets the files settle (DefaultDebounce when 0).
	Debounce time.Duration
	// WebhookTimeout is how long a delivery waits for an answer (DefaultWebhookTimeout).
	WebhookTimeout time.Duration
	// HookID is the App's webhook id (DefaultHookID when 0).
	HookID int64
	// URL is the sandbox's own base URL, for links in the payloads it sends.
	URL string
	// OnSend, when set, is called after each delivery the sandbox sends.
	OnSend func(Sent)
}

// Sandbox is a fake GitHub serving one App. Its methods are safe for concurrent use.
type Sandbox struct {
	opts   Options
	key    *rsa.PrivateKey
	keyPEM []byte
	now    func() time.Time

	handler http.Handler

	// fsMu serialises WriteFile and RemoveFile so each sees the head before it.
	fsMu sync.Mutex

	mu             sync.Mutex
	setupURL       string
	lastManifest   *Manifest
	installations  map[int64]*Installation
	instTokens     map[string]instToken
	userTokens     map[string]userToken
	oauthCodes     map[string]*oauthCode
	manifestCodes  map[string]*manifestCode
	minted         map[int64]int
	pins           map[string]pin
	deliveries     []Delivery
	nextDeliveryID int64
	redelivered    []int64
	faults         []*fault
	calls          []*Call
	// perms are explicit repository permissions: lower-case full name, then login.
	perms        map[string]map[string]string
	deletedUsers map[string]bool
	rateWindows  map[string]*rateWindow
	rateLimits   map[int64]RateLimit
	// renamed maps a renamed repository's old full name (lower case) to its new one;
	// repoIDs keeps a renamed repository's id under its new name (rename.go).
	renamed map[string]string
	repoIDs map[string]int64
	// mux serves the API routes; /repositories/{id}/... is served through it.
	mux *http.ServeMux

	// The webhook sender (sender.go, watcher.go, issues.go).
	ctx          context.Context
	cancel       context.CancelFunc
	client       *http.Client
	closeOnce    sync.Once
	bg           sync.WaitGroup
	watchDone    chan struct{}
	known        map[string]repoState // owned by the watcher goroutine
	payloads     map[string]storedPayload
	payloadOrder []string
	threads      map[string][]*thread
}

// New returns a Sandbox serving the repositories under opts.Root (created if missing),
// with installation 1 covering all of them for the sandbox user.
func New(opts Options) (*Sandbox, error) {
	if opts.Root == "" {
		return nil, errors.New("ghsandbox: Options.Root is required")
	}
	if err := os.MkdirAll(opts.Root, 0o755); err != nil {
		return nil, fmt.Errorf("ghsandbox: root: %w", err)
	}
	if opts.AppID == 0 {
		opts.AppID = DefaultAppID
	}
	if opts.AppSlug == "" {
		opts.AppSlug = DefaultAppSlug
	}
	if opts.AppName == "" {
		opts.AppName = DefaultAppName
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.SandboxUser == "" {
		opts.SandboxUser = DefaultSandboxUser
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.UserTokenTTL <= 0 {
		opts.UserTokenTTL = DefaultUserTokenTTL
	}
	if opts.MaxTreeEntries <= 0 {
		opts.MaxTreeEntries = DefaultMaxTreeEntries
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.WebhookTimeout <= 0 {
		opts.WebhookTimeout = DefaultWebhookTimeout
	}
	if opts.HookID == 0 {
		opts.HookID = DefaultHookID
	}
	if opts.WebhookSecret == "" {
		opts.WebhookSecret = randomHex(20)
	}
	s := &Sandbox{
		opts:           opts,
		now:            opts.Now,
		setupURL:       opts.SetupURL,
		installations:  map[int64]*Installation{},
		instTokens:     map[string]instToken{},
		userTokens:     map[string]userToken{},
		oauthCodes:     map[string]*oauthCode{},
		manifestCodes:  map[string]*manifestCode{},
		minted:         map[int64]int{},
		pins:           map[string]pin{},
		perms:          map[string]map[string]string{},
		deletedUsers:   map[string]bool{},
		rateWindows:    map[string]*rateWindow{},
		rateLimits:     map[int64]RateLimit{},
		nextDeliveryID: 12_000_000_001,
		payloads:       map[string]storedPayload{},
		threads:        map[string][]*thread{},
		// GitHub follows no redirect and waits WebhookTimeout for an answer.
		client: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.loadKey(opts.PrivateKeyPEM); err != nil {
		return nil, err
	}
	s.installations[1] = &Installation{
		ID:              1,
		Account:         opts.SandboxUser,
		AccountType:     "User",
		AccountID:       userID(opts.SandboxUser),
		AllRepositories: true,
		Users:           []string{opts.SandboxUser},
	}
	s.handler = s.routes()
	if s.sending() && !opts.NoWatch {
		if err := s.startWatcher(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Sandbox) loadKey(pemBytes []byte) error {
	if pemBytes == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return fmt.Errorf("ghsandbox: generate key: %w", err)
		}
		s.key = key
		s.keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		return nil
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(pemBytes)
	if err != nil {
		return fmt.Errorf("ghsandbox: parse private key: %w", err)
	}
	s.key = key
	s.keyPEM = append([]byte(nil), pemBytes...)
	return nil
}

// Handler serves the sandbox's REST and web endpoints.
func (s *Sandbox) Handler() http.Handler { return s.handler }

// AppID is the App's id.
func (s *Sandbox) AppID() int64 { return s.opts.AppID }

// AppSlug is the App's slug, used in its installation page URL.
func (s *Sandbox) AppSlug() string { return s.opts.AppSlug }

// PrivateKeyPEM is the App's private key in PEM form.
func (s *Sandbox) PrivateKeyPEM() []byte { return append([]byte(nil), s.keyPEM...) }

// ClientID is the App's OAuth client id.
func (s *Sandbox) ClientID() string { return s.opts.ClientID }

// ClientSecret is the App's OAuth client secret.
func (s *Sandbox) ClientSecret() string { return s.opts.ClientSecret }

// WebhookSecret is the webhook secret the manifest conversion hands out.
func (s *Sandbox) WebhookSecret() string { return s.opts.WebhookSecret }

// SandboxUser is the login of the user who can access installation 1.
func (s *Sandbox) SandboxUser() string { return s.opts.SandboxUser }

// SetupURL is where the installation page currently redirects ("" when unset).
func (s *Sandbox) SetupURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setupURL
}

// SetSetupURL changes where the installation page redirects.
func (s *Sandbox) SetSetupURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setupURL = u
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()
	// App (JWT) endpoints.
	mux.HandleFunc("GET /app", s.handleApp)
	mux.HandleFunc("GET /app/installations", s.handleAppInstallations)
	mux.HandleFunc("GET /app/installations/{id}", s.handleAppInstallation)
	mux.HandleFunc("POST /app/installations/{id}/access_tokens", s.handleAccessToken)
	mux.HandleFunc("GET /app/hook/deliveries", s.handleDeliveries)
	mux.HandleFunc("POST /app/hook/deliveries/{id}/attempts", s.handleRedeliver)
	// Installation-token endpoints.
	mux.HandleFunc("GET /installation/repositories", s.handleInstallationRepos)
	mux.HandleFunc("GET /repos/{owner}/{repo}", s.handleRepo)
	mux.HandleFunc("GET /repos/{owner}/{repo}/installation", s.handleRepoInstallation)
	mux.HandleFunc("GET /repos/{owner}/{repo}/collaborators/{username}/permission", s.handlePermission)
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents", s.handleContents)
	mux.HandleFunc("GET /repos/{owner}/{repo}/contents/{path...}", s.handleContents)
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/blobs/{sha}", s.handleBlob)
	mux.HandleFunc("GET /repos/{owner}/{repo}/git/trees/{sha...}", s.handleTree)
	mux.HandleFunc("GET /repos/{owner}/{repo}/commits/{ref...}", s.handleCommit)
	mux.HandleFunc("GET /repos/{owner}/{repo}/branches/{branch...}", s.handleBranch)
	mux.HandleFunc("GET /repositories/{id}", s.handleRepositoryByID)
	mux.HandleFunc("GET /repositories/{id}/{rest...}", s.handleRepositoryByID)
	// User-token endpoints.
	mux.HandleFunc("GET /user", s.handleUser)
	mux.HandleFunc("GET /user/installations", s.handleUserInstallations)
	mux.HandleFunc("GET /user/installations/{id}/repositories", s.handleUserInstallationRepos)
	// Web and unauthenticated endpoints.
	mux.HandleFunc("POST /login/oauth/access_token", s.handleOAuthToken)
	mux.HandleFunc("POST /app-manifests/{code}/conversions", s.handleManifestConversion)
	mux.HandleFunc("GET /settings/apps/new", s.handleManifestPage)
	mux.HandleFunc("POST /settings/apps/new", s.handleManifestPost)
	mux.HandleFunc("GET /organizations/{org}/settings/apps/new", s.handleManifestPage)
	mux.HandleFunc("POST /organizations/{org}/settings/apps/new", s.handleManifestPost)
	mux.HandleFunc("GET /apps/{slug}/installations/new", s.handleInstallPage)
	s.sandboxRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Not Found")
	})
	s.mux = mux
	return s.record(mux)
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers GitHub's REST error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{
		"message":           msg,
		"documentation_url": docsURL,
		"status":            strconv.Itoa(status),
	})
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	// Since Go 1.24 crypto/rand.Read never returns an error (it aborts the program).
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// stableID derives a deterministic id from a name, so ids survive sandbox restarts.
func stableID(kind, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write([]byte(strings.ToLower(name)))
	return int64(h.Sum64()%900_000_000) + 100_000_000
}

func userID(login string) int64 { return stableID("user", login) }

// baseURL is the scheme and host the request reached, for links in answers.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// timeString formats t as GitHub does: UTC, second precision.
func timeString(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
