package ghapp

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	smithytime "github.com/aws/smithy-go/time"
	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-github/v60/github"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

// Defaults applied by New.
const (
	DefaultAPIURL       = "https://api.github.com/"
	DefaultWebURL       = "https://github.com/"
	DefaultMaxAttempts  = 3
	DefaultMaxRetryWait = 5 * time.Second
	DefaultMaxFileSize  = 25 << 20
	DefaultHTTPTimeout  = 20 * time.Second
	userAgent           = "repotrackr-github-integration"
	// baseBackoff is the first retry's wait; each later one doubles it.
	baseBackoff = 250 * time.Millisecond
)

// Config configures a Client.
type Config struct {
	// AppID and PrivateKey (PEM, PKCS#1 or PKCS#8) identify the App. Required.
	AppID      int64
	PrivateKey []byte
	// APIURL is the REST base URL, used as given: https://api.github.com/ (default),
	// https://HOST/api/v3/ for GitHub Enterprise Server, or the sandbox URL.
	APIURL string
	// WebURL is the web base URL for the OAuth exchange and repository URLs
	// (default https://github.com/).
	WebURL string
	// ClientID and ClientSecret are the App's OAuth credentials (ExchangeCode only).
	ClientID, ClientSecret string
	// HTTPClient supplies the transport and timeout; a client with DefaultHTTPTimeout
	// over http.DefaultTransport when nil.
	HTTPClient *http.Client
	// Log receives audit lines (audit=true) and retry notes; discarded when nil.
	Log *slog.Logger
	// Now is the clock for rate limit resets and token expiry times; time.Now when nil.
	// ghinstallation renews tokens by the real clock whatever this says.
	Now func() time.Time
	// OnAPICall, when set, is called after every HTTP call to GitHub with the endpoint
	// template (e.g. "GET /repos/{owner}/{repo}/contents/{path}"), the status (0 when no
	// answer arrived) and the transport error (nil when GitHub answered). For metrics.
	OnAPICall func(endpoint string, status int, err error)
	// Metrics, when set, receives one EMF line per HTTP call to GitHub:
	// metrics.GitHubAPICalls, plus metrics.GitHubAPIErrors for a failure (no answer, 5xx,
	// 429, 401, 403), by dimension metrics.DimEndpoint (the endpoint template). 404, 409
	// and 422 are answers, not failures.
	Metrics *metrics.Emitter
	// MaxAttempts bounds the attempts of one call (default 3).
	MaxAttempts int
	// MaxRetryWait is the longest wait slept in-process before a retry (Retry-After, a
	// rate limit reset or a rate limit backoff); a longer rate limit wait ends the call
	// with a *RateLimitError carrying the wait, any other with a retryable *APIError.
	// Default 5s.
	MaxRetryWait time.Duration
	// MaxFileSize bounds FileContent (default 25 MiB).
	MaxFileSize int64
	// ConditionalCacheBytes bounds the answers kept in memory for conditional requests
	// (If-None-Match; README.md, "Conditional requests"): DefaultConditionalCacheBytes
	// when 0, none when negative.
	ConditionalCacheBytes int64
}

// Client talks to GitHub as the App. Safe for concurrent use.
type Client struct {
	cfg       Config
	log       *slog.Logger
	now       func() time.Time
	apiBase   *url.URL // with trailing slash
	webBase   *url.URL // with trailing slash
	repoHosts []string
	key       *rsa.PrivateKey
	timeout   time.Duration
	meter     http.RoundTripper
	plain     *http.Client   // metered, no credentials (OAuth exchange)
	app       *github.Client // App JWT
	etags     *etagCache     // answers kept for conditional requests; nil: none

	maxAttempts int
	maxWait     time.Duration
	maxFile     int64
	// sleep waits between attempts; tests replace it.
	sleep func(context.Context, time.Duration) error

	mu     sync.Mutex
	insts  map[int64]*installationClient
	limits map[int64]*limiter // rate limit state per installation
}

// installationClient is the cached transport (holding the installation token) and REST
// client of one installation.
type installationClient struct {
	tr *ghinstallation.Transport
	gh *github.Client
}

// Repository is a repository as the App sees it.
type Repository struct {
	ID            int64
	Owner         string
	Name          string
	FullName      string
	DefaultBranch string
	Private       bool
	Archived      bool
	HTMLURL       string
}

// Installation is an installation of the App.
type Installation struct {
	ID                  int64
	AppID               int64
	AccountLogin        string
	AccountType         string // User or Organization
	AccountID           int64
	RepositorySelection string // all or selected
	SuspendedAt         *time.Time
	HTMLURL             string
}

// UserToken is an OAuth user access token. Its String and LogValue hide the secrets.
type UserToken struct {
	AccessToken           string
	TokenType             string
	Scope                 string
	ExpiresAt             time.Time // zero when the token does not expire
	RefreshToken          string
	RefreshTokenExpiresAt time.Time
}

// String hides the tokens.
func (t UserToken) String() string { return "ghapp.UserToken{redacted}" }

// LogValue hides the tokens from slog.
func (t UserToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Time("expires_at", t.ExpiresAt), slog.String("token", "redacted"))
}

// AppCredentials is what the manifest conversion (appmanifest.Converter) returns. Its
// String and LogValue hide the secrets.
type AppCredentials struct {
	ID            int64
	Slug          string
	Name          string
	OwnerLogin    string
	HTMLURL       string
	PEM           []byte
	WebhookSecret string
	ClientID      string
	ClientSecret  string
}

// String hides the secrets.
func (a AppCredentials) String() string {
	return fmt.Sprintf("ghapp.AppCredentials{ID:%d Slug:%s secrets:redacted}", a.ID, a.Slug)
}

// LogValue hides the secrets from slog.
func (a AppCredentials) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("app_id", a.ID), slog.String("slug", a.Slug), slog.String("secrets", "redacted"))
}

// HookDelivery is one attempt to deliver a webhook of the App.
type HookDelivery struct {
	ID             int64
	GUID           string // X-GitHub-Delivery, constant across redeliveries
	DeliveredAt    time.Time
	Redelivery     bool
	Status         string // "OK" for success
	StatusCode     int
	Event          string
	Action         string
	InstallationID int64
	RepositoryID   int64
}

// New validates cfg and builds the App client.
func New(cfg Config) (*Client, error) {
	if cfg.AppID <= 0 {
		return nil, errors.New("ghapp: AppID is required")
	}
	if len(cfg.PrivateKey) == 0 {
		return nil, errors.New("ghapp: PrivateKey is required")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("ghapp: parse private key: %w", err)
	}
	apiBase, err := baseURLOf(cfg.APIURL, DefaultAPIURL)
	if err != nil {
		return nil, fmt.Errorf("ghapp: APIURL: %w", err)
	}
	webBase, err := baseURLOf(cfg.WebURL, DefaultWebURL)
	if err != nil {
		return nil, fmt.Errorf("ghapp: WebURL: %w", err)
	}
	c := &Client{
		cfg:         cfg,
		log:         logging.OrDiscard(cfg.Log),
		now:         cfg.Now,
		apiBase:     apiBase,
		webBase:     webBase,
		repoHosts:   []string{"github.com", "www.github.com", strings.ToLower(webBase.Host)},
		key:         key,
		timeout:     DefaultHTTPTimeout,
		maxAttempts: cfg.MaxAttempts,
		maxWait:     cfg.MaxRetryWait,
		maxFile:     cfg.MaxFileSize,
		sleep:       smithytime.SleepWithContext,
		insts:       map[int64]*installationClient{},
		limits:      map[int64]*limiter{},
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxRetryWait
	}
	if c.maxFile <= 0 {
		c.maxFile = DefaultMaxFileSize
	}
	switch n := cfg.ConditionalCacheBytes; {
	case n == 0:
		c.etags = newETagCache(DefaultConditionalCacheBytes)
	case n > 0:
		c.etags = newETagCache(n)
	}
	base := http.DefaultTransport
	if cfg.HTTPClient != nil {
		c.timeout = cfg.HTTPClient.Timeout
		if cfg.HTTPClient.Transport != nil {
			base = cfg.HTTPClient.Transport
		}
	}
	c.meter = &meter{next: base, apiPrefix: strings.TrimSuffix(apiBase.Path, "/"), c: c}
	c.plain = &http.Client{Transport: c.meter, Timeout: c.timeout}
	appTr, err := ghinstallation.NewAppsTransport(c.meter, cfg.AppID, cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("ghapp: App transport: %w", err)
	}
	appTr.BaseURL = c.apiRoot()
	c.app = c.restClient(&conditional{next: appTr, cache: c.etags, scope: "app"})
	return c, nil
}

// baseURLOf parses an absolute http(s) base URL and gives it a trailing slash.
func baseURLOf(raw, def string) (*url.URL, error) {
	if raw == "" {
		raw = def
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// apiRoot is the API base without trailing slash, as ghinstallation wants it.
func (c *Client) apiRoot() string { return strings.TrimSuffix(c.apiBase.String(), "/") }

// restClient builds a go-github client over rt with the configured base URL. The URL is
// set directly rather than through WithEnterpriseURLs, which would append api/v3/ to a
// sandbox URL.
func (c *Client) restClient(rt http.RoundTripper) *github.Client {
	gh := github.NewClient(&http.Client{Transport: rt, Timeout: c.timeout})
	base := *c.apiBase
	gh.BaseURL = &base
	upload := *c.apiBase
	gh.UploadURL = &upload
	gh.UserAgent = userAgent
	return gh
}

// userClient is a go-github client acting with a user's OAuth token.
func (c *Client) userClient(token string) *github.Client {
	return c.restClient(c.meter).WithAuthToken(token)
}

// installation returns the cached client of an installation, creating it on first use.
// Each gets its own AppsTransport: ghinstallation writes to it while refreshing a token.
func (c *Client) installation(id int64) *installationClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ic, ok := c.insts[id]; ok {
		return ic
	}
	atr := ghinstallation.NewAppsTransportFromPrivateKey(c.meter, c.cfg.AppID, c.key)
	atr.BaseURL = c.apiRoot()
	tr := ghinstallation.NewFromAppsTransport(atr, id)
	ic := &installationClient{tr: tr, gh: c.instREST(id, tr)}
	c.insts[id] = ic
	return ic
}

// instREST is an installation's go-github client over its token transport, its reads
// conditional and their answers kept apart from every other installation's.
func (c *Client) instREST(id int64, tr http.RoundTripper) *github.Client {
	return c.restClient(&conditional{next: tr, cache: c.etags, scope: "installation " + strconv.FormatInt(id, 10)})
}

// ForgetInstallation drops the cached token and client of an installation (after it was
// deleted or its permissions changed); the next call mints a new token.
func (c *Client) ForgetInstallation(installationID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.insts, installationID)
}

// InstallationToken returns a valid installation token, minting one only when the cached
// token is missing or within a minute of expiry. Treat it as an opaque string of any
// length, and never log it.
func (c *Client) InstallationToken(ctx context.Context, installationID int64) (string, error) {
	var tok string
	err := c.retryIn(ctx, c.limiterOf(installationID), installationID, opMint, readPolicy, func(ctx context.Context) error {
		var err error
		tok, err = c.installation(installationID).tr.Token(ctx)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("installation %d token: %w", installationID, err)
	}
	return tok, nil
}

// instCall runs fn with the installation's REST client under the read retry policy. A 401
// means GitHub revoked the cached token early: the client is rebuilt and fn tried once
// more with a fresh token.
func (c *Client) instCall(ctx context.Context, installationID int64, op string, fn func(context.Context, *github.Client) error) error {
	lim := c.limiterOf(installationID)
	call := func(ctx context.Context) error { return fn(ctx, c.installation(installationID).gh) }
	err := c.retryIn(ctx, lim, installationID, op, readPolicy, call)
	var e *APIError
	if errors.As(err, &e) && e.Status == http.StatusUnauthorized && !e.Mint {
		c.ForgetInstallation(installationID)
		err = c.retryIn(ctx, lim, installationID, op, readPolicy, call)
	}
	return err
}

// policy says which failures a call may retry.
type policy int

const (
	// readPolicy: idempotent calls (GETs, minting a token) retry every retryable failure.
	readPolicy policy = iota
	// writePolicy: calls with effects (code exchange, redelivery)
	// retry only on 5xx answers and on failures to connect, where GitHub cannot have
	// acted or said it failed. A replayed code that GitHub had in fact consumed then
	// yields ErrBadCode, which is what the caller would see without the retry.
	writePolicy
)

func (p policy) allows(e *APIError) bool {
	if !e.Retryable {
		return false
	}
	return p == readPolicy || e.Status >= 500 || (e.Status == 0 && e.dial)
}

// retry runs fn (an App or user call) under retryIn without remembered rate limits.
func (c *Client) retry(ctx context.Context, op string, p policy, fn func(context.Context) error) error {
	return c.retryIn(ctx, nil, 0, op, p, fn)
}

// retryIn runs fn up to maxAttempts times with exponential backoff (250ms, 500ms, ...),
// waiting at least what GitHub asked for. Rate limits follow GitHub's rules (doc.go):
// lim (nil for App and user calls) remembers them per installation; a wait up to
// maxWait is slept here (reads only), a longer one ends the call with a
// *RateLimitError, and while lim's wait lasts no call is sent at all. The returned error
// is an *APIError, a *RateLimitError or the context's error.
func (c *Client) retryIn(ctx context.Context, lim *limiter, installationID int64, op string, p policy, fn func(context.Context) error) error {
	slept := false // waited out a rate limit just now: lim's wait has passed
	for attempt := 1; ; attempt++ {
		release, err := lim.acquire(ctx)
		if err != nil {
			return fmt.Errorf("github %s: %w", op, err)
		}
		if wait := lim.remaining(c.now()); wait > 0 && !slept {
			if wait > c.maxWait || p != readPolicy {
				release()
				return &RateLimitError{Op: op, InstallationID: installationID, Wait: wait, Until: c.now().Add(wait), Local: true}
			}
			if err := c.sleep(ctx, wait); err != nil {
				release()
				return fmt.Errorf("github %s: %w", op, err)
			}
		}
		slept = false
		err = fn(ctx)
		if err == nil {
			lim.succeeded()
			release()
			return nil
		}
		e := classify(op, err, c.now()) // also closes an unread token-mint answer
		now := c.now()
		var wait time.Duration
		switch {
		case e.rate.limited:
			wait = lim.limited(e.rate, now) // before the next caller is let go
		case e.Status != 0:
			lim.succeeded() // any other answer (a 404, a 502) means the limit is over
		}
		release()
		if ctx.Err() != nil {
			return fmt.Errorf("github %s: %w", op, ctx.Err())
		}
		if e.rate.limited {
			if installationID != 0 {
				c.freshREST(installationID)
			}
			if wait > c.maxWait || attempt >= c.maxAttempts || p != readPolicy {
				c.log.LogAttrs(ctx, slog.LevelWarn, "github rate limit",
					slog.String("op", op), slog.Int("status", e.Status), slog.Int64("installation_id", installationID),
					slog.String("wait", wait.String()))
				return &RateLimitError{Op: op, InstallationID: installationID, Wait: wait, Until: now.Add(wait), answer: e}
			}
			c.log.LogAttrs(ctx, slog.LevelDebug, "github rate limit, waiting",
				slog.String("op", op), slog.Int("status", e.Status), slog.Int("attempt", attempt), slog.String("wait", wait.String()))
			if err := c.sleep(ctx, wait); err != nil {
				return fmt.Errorf("github %s: %w", op, err)
			}
			slept = true
			continue
		}
		if attempt >= c.maxAttempts || !p.allows(e) {
			return e
		}
		wait = c.backoff(attempt)
		if e.RetryAfter > 0 {
			if e.RetryAfter > c.maxWait {
				return e
			}
			wait = max(wait, e.RetryAfter)
		}
		c.log.LogAttrs(ctx, slog.LevelDebug, "github call failed, retrying",
			slog.String("op", op), slog.Int("status", e.Status), slog.Int("attempt", attempt), slog.String("wait", wait.String()))
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("github %s: %w", op, err)
		}
	}
}

// backoff is the wait before retry n (n >= 1), with up to 20% jitter so that callers
// failing together do not retry together.
func (c *Client) backoff(n int) time.Duration {
	d := min(baseBackoff<<(n-1), c.maxWait)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// allPages collects every page of a list endpoint: fetch reads one page (with its own
// retries) for the given options, and allPages follows GitHub's next-page links.
func allPages[T any](ctx context.Context, fetch func(ctx context.Context, opts *github.ListOptions) ([]T, *github.Response, error)) ([]T, error) {
	var out []T
	opts := &github.ListOptions{PerPage: 100}
	for {
		page, resp, err := fetch(ctx, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if resp == nil || resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// installationsOf converts a page of installations.
func installationsOf(page []*github.Installation) []Installation {
	out := make([]Installation, 0, len(page))
	for _, in := range page {
		out = append(out, installationOf(in))
	}
	return out
}

// repositoriesOf converts a page of repositories (nil when the call failed).
func repositoriesOf(page *github.ListRepositories) []Repository {
	if page == nil {
		return nil
	}
	out := make([]Repository, 0, len(page.Repositories))
	for _, r := range page.Repositories {
		out = append(out, repositoryOf(r))
	}
	return out
}
