package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/appmanifest"
	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Defaults applied by New.
const (
	DefaultInstallStateTTL  = 10 * time.Minute
	DefaultManifestStateTTL = time.Hour // GitHub's manifest codes last an hour too
	DefaultWebURL           = ghapp.DefaultWebURL
	// DefaultPurgeBudget bounds how many snapshots and update log entries a DELETE
	// removes within the request; what is left is unreachable and logged.
	DefaultPurgeBudget = 1000
	// maxBody bounds the JSON and form bodies the API reads.
	maxBody = 64 << 10
)

// StateStore keeps the single-use states of the installation and manifest flows.
type StateStore interface {
	PutState(ctx context.Context, st store.State) error
	ConsumeState(ctx context.Context, id string) (store.State, error)
}

// InstallationStore keeps installations and which user proved access to which.
type InstallationStore interface {
	PutInstallation(ctx context.Context, in store.Installation) (store.Installation, error)
	GetInstallation(ctx context.Context, id int64) (store.Installation, error)
	LinkUserInstallation(ctx context.Context, link store.UserInstallation) (store.UserInstallation, error)
	UserInstallations(ctx context.Context, userID string) ([]store.UserInstallation, error)
	UnlinkUserInstallation(ctx context.Context, userID string, installationID int64) error
	AddInstallationRepository(ctx context.Context, installationID int64, fullName string) error
}

// ProjectStore keeps projects and reads their history.
type ProjectStore interface {
	CreateProject(ctx context.Context, p store.Project) (store.Project, error)
	GetProject(ctx context.Context, id string) (store.Project, error)
	ProjectsByOwner(ctx context.Context, owner string, limit int, cursor string) ([]store.Project, string, error)
	DeleteProject(ctx context.Context, id, owner string) error
	PurgeProjectHistory(ctx context.Context, projectID string, max int) (int, bool, error)
	ListSnapshots(ctx context.Context, projectID string, limit int, cursor string) ([]store.Snapshot, string, error)
	ListUpdates(ctx context.Context, projectID string, limit int, cursor string) ([]store.Update, string, error)
}

// Store is every table the API uses: *store.Store.
type Store interface {
	StateStore
	InstallationStore
	ProjectStore
}

// GitHub is what the API asks GitHub: *ghapp.Client. Errors carry ghapp's kinds.
type GitHub interface {
	ParseRepo(s string) (owner, name string, err error)
	ExchangeCode(ctx context.Context, code string) (ghapp.UserToken, error)
	User(ctx context.Context, userToken string) (login string, id int64, err error)
	UserInstallations(ctx context.Context, userToken string) ([]ghapp.Installation, error)
	InstallationRepositories(ctx context.Context, installationID int64) ([]ghapp.Repository, error)
	ValidateRepositoryAccess(ctx context.Context, repo string, installationID int64) (ghapp.Repository, error)
	RepositoryPermission(ctx context.Context, installationID int64, owner, repo, login string) (ghapp.UserPermission, error)
	RepositoryInstallation(ctx context.Context, owner, repo string) (ghapp.Installation, error)
}

// Syncer reads a newly registered project once, so that it starts with a snapshot:
// *processor.Processor.
type Syncer interface {
	SyncProject(ctx context.Context, project store.Project, jobID string) (store.Project, error)
}

// ManifestConverter trades a manifest code for the new App's credentials:
// *appmanifest.Converter.
type ManifestConverter interface {
	ConvertManifest(ctx context.Context, code string) (ghapp.AppCredentials, error)
}

// RouteHandler serves one API Gateway request; the delivery history routes are one.
type RouteHandler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Config configures the API. Store is required; a missing GitHub, Syncer, Converter,
// Secrets client or state key turns off only the routes that need it (503 with a reason).
type Config struct {
	Store Store
	// GitHub is the App client; nil while no App is configured.
	GitHub GitHub
	// Syncer reads a project right after registration; nil leaves it pending until its
	// first webhook.
	Syncer Syncer
	// StateKeys sign the states: the first signs, every one verifies (key rotation).
	StateKeys [][]byte
	// WebURL is GitHub's web base URL (installation and new-App pages); default
	// https://github.com/.
	WebURL string
	// AppSlug is the App's URL name, for its installation page.
	AppSlug string
	// InstallSetupURL is the front end's installation page: GitHub sends the browser
	// there after an installation (the manifest's setup and callback URL), and it relays
	// the query to the install callback with the user's bearer token. App registration
	// is refused without it.
	InstallSetupURL string
	// InstallSuccessURL, when set, is where a browser is sent (302) after a successful
	// installation, with installation_id and status=success in the query; otherwise it
	// gets a small HTML page.
	InstallSuccessURL string
	// InstallStateTTL and ManifestStateTTL bound how long a state is accepted.
	InstallStateTTL  time.Duration
	ManifestStateTTL time.Duration

	// The manifest flow: the converter, the secrets that receive the credentials and the
	// client that writes them. AppConfigured says the App's id and key were found at
	// start; registration is refused then, and also when the secrets already hold an App.
	Converter     ManifestConverter
	Secrets       appmanifest.SecretsManager
	SecretTargets appmanifest.Secrets
	AppConfigured bool
	// PublicBaseURL is the API's public URL for the manifest's URLs; empty: the
	// request's own host (https).
	PublicBaseURL string
	// AppName replaces the manifest's name when set.
	AppName string
	// RegistrationToken is the one-time token the registration routes require (at
	// least MinRegistrationTokenLen bytes); empty keeps registration closed.
	RegistrationToken string

	// History serves GET /webhooks/github/events and /webhooks/github/events/stats; nil
	// answers 503.
	History RouteHandler

	// PurgeBudget bounds the history a DELETE removes (default DefaultPurgeBudget).
	PurgeBudget int
	// Log receives request, error and audit lines; discarded when nil.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// API is the API function's handler. Safe for concurrent use.
type API struct {
	cfg    Config
	store  Store
	gh     GitHub
	log    *slog.Logger
	now    func() time.Time
	states stateSigner
	web    *url.URL
	routes []route
}

// New validates cfg and returns the API.
func New(cfg Config) (*API, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Store is required")
	}
	if cfg.WebURL == "" {
		cfg.WebURL = DefaultWebURL
	}
	web, err := url.Parse(strings.TrimSuffix(cfg.WebURL, "/") + "/")
	if err != nil || (web.Scheme != "https" && web.Scheme != "http") || web.Host == "" {
		return nil, fmt.Errorf("api: WebURL %q is not an absolute http(s) URL", cfg.WebURL)
	}
	cfg.InstallStateTTL = config.PositiveOr(cfg.InstallStateTTL, DefaultInstallStateTTL)
	cfg.ManifestStateTTL = config.PositiveOr(cfg.ManifestStateTTL, DefaultManifestStateTTL)
	cfg.PurgeBudget = config.PositiveOr(cfg.PurgeBudget, DefaultPurgeBudget)
	cfg.Log = logging.OrDiscard(cfg.Log)
	cfg.Now = config.NowOr(cfg.Now)
	for _, k := range cfg.StateKeys {
		if len(k) < MinStateKeyLen {
			return nil, fmt.Errorf("api: state signing keys must be at least %d bytes", MinStateKeyLen)
		}
	}
	if cfg.RegistrationToken != "" && len(cfg.RegistrationToken) < MinRegistrationTokenLen {
		return nil, fmt.Errorf("api: the registration token must be at least %d bytes", MinRegistrationTokenLen)
	}
	a := &API{
		cfg:    cfg,
		store:  cfg.Store,
		gh:     cfg.GitHub,
		log:    cfg.Log,
		now:    cfg.Now,
		states: stateSigner{keys: cfg.StateKeys},
		web:    web,
	}
	a.routes = a.routeTable()
	return a, nil
}

// Handle serves one API Gateway (HTTP API, payload v2) request. It never returns an
// error: every failure is an answer, so that API Gateway never turns one into its own
// opaque 500.
func (a *API) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
	start := a.now()
	log := a.log.With(slog.String("request_id", req.RequestContext.RequestID))
	method, path := requestMethod(&req), requestPath(&req)
	routeName := "unmatched"
	defer func() {
		if p := recover(); p != nil {
			log.Error("handler panicked", slog.Any("panic", p), slog.String("method", method), slog.String("path", path))
			resp, err = httpapi.ErrorResponse(http.StatusInternalServerError, "internal error"), nil
		}
		log.Info("request", slog.String("method", method), slog.String("route", routeName),
			slog.Int("status", resp.StatusCode), slog.Duration("duration", a.now().Sub(start)))
	}()
	rt, params, err := a.match(method, path)
	if err != nil {
		return a.fail(log, &req, err), nil
	}
	routeName = rt.method + " " + rt.pattern
	r := &request{req: &req, params: params, log: log}
	if rt.auth {
		user, err := httpapi.Subject(&req)
		if err != nil {
			return a.fail(log, &req, err), nil
		}
		r.user = user
		r.log = log.With(slog.String("user", user))
	}
	resp, err = rt.handle(ctx, r)
	if err != nil {
		return a.fail(r.log, &req, err), nil
	}
	return resp, nil
}

// fail answers an error: JSON through httpapi.Respond, or an HTML page for a browser on
// the routes GitHub sends browsers to.
func (a *API) fail(log *slog.Logger, req *events.APIGatewayV2HTTPRequest, err error) events.APIGatewayV2HTTPResponse {
	if wantsHTML(req) && browserRoute(requestPath(req)) {
		status, reason := httpapi.StatusOf(err)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(context.Background(), level, "request refused", "status", status, "reason", reason, "err", err)
		return htmlResponse(status, errorPage(status, reason), "")
	}
	resp := httpapi.Respond(log, err)
	var me *methodError
	if errors.As(err, &me) {
		resp.Headers["Allow"] = strings.Join(me.allowed, ", ")
	}
	return resp
}

// request is one matched request.
type request struct {
	req    *events.APIGatewayV2HTTPRequest
	params map[string]string
	user   string // the caller, on authenticated routes
	log    *slog.Logger
}

// query returns a query parameter; a parameter given more than once is refused rather
// than guessed at.
func (r *request) query(name string) (string, error) {
	if r.req.RawQueryString != "" {
		q, err := url.ParseQuery(r.req.RawQueryString)
		if err != nil {
			return "", httpapi.Fail(http.StatusBadRequest, "malformed query string", err)
		}
		if len(q[name]) > 1 {
			return "", httpapi.Fail(http.StatusBadRequest, "parameter "+name+" given more than once", nil)
		}
		return q.Get(name), nil
	}
	return r.req.QueryStringParameters[name], nil
}

func requestMethod(req *events.APIGatewayV2HTTPRequest) string {
	if m := req.RequestContext.HTTP.Method; m != "" {
		return strings.ToUpper(m)
	}
	// Sample events and older callers may fill only the route key ("GET /path").
	m, _, _ := strings.Cut(req.RouteKey, " ")
	return strings.ToUpper(m)
}

func requestPath(req *events.APIGatewayV2HTTPRequest) string {
	if req.RawPath != "" {
		return req.RawPath
	}
	return req.RequestContext.HTTP.Path
}

// wantsHTML: a browser navigating (GitHub's redirect to the setup URL) rather than a
// program asking for JSON.
func wantsHTML(req *events.APIGatewayV2HTTPRequest) bool {
	return strings.Contains(httpapi.Header(req, "Accept"), "text/html")
}

// browserRoute: the routes GitHub sends a browser to.
func browserRoute(path string) bool {
	switch strings.TrimSuffix(path, "/") {
	case pathInstall, pathAppRegister, pathAppRegistered:
		return true
	}
	return false
}
