package ghapp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/repotrackr/github-integration/pkg/metrics"
)

// Endpoint templates: metric names, APIError.Op and audit lines use them, never real
// URLs (which can hold codes).
const (
	opMint              = "POST /app/installations/{id}/access_tokens"
	opInstallation      = "GET /app/installations/{id}"
	opInstallations     = "GET /app/installations"
	opApp               = "GET /app"
	opDeliveries        = "GET /app/hook/deliveries"
	opRedeliver         = "POST /app/hook/deliveries/{id}/attempts"
	opInstallationRepos = "GET /installation/repositories"
	opContents          = "GET /repos/{owner}/{repo}/contents/{path}"
	opBlob              = "GET /repos/{owner}/{repo}/git/blobs/{sha}"
	opTree              = "GET /repos/{owner}/{repo}/git/trees/{sha}"
	opCommit            = "GET /repos/{owner}/{repo}/commits/{ref}"
	opBranch            = "GET /repos/{owner}/{repo}/branches/{branch}"
	opRepo              = "GET /repos/{owner}/{repo}"
	opRepoInstallation  = "GET /repos/{owner}/{repo}/installation"
	opPermission        = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
	opUser              = "GET /user"
	opUserInstallations = "GET /user/installations"
	opUserInstRepos     = "GET /user/installations/{id}/repositories"
	opOAuth             = "POST /login/oauth/access_token"
)

// endpoints maps request shapes to templates: "*" is one path segment, a final "**" the
// rest. Order matters: the first match wins.
var endpoints = []struct{ method, pattern, name string }{
	{"POST", "/app/installations/*/access_tokens", opMint},
	{"GET", "/app/installations/*", opInstallation},
	{"GET", "/app/installations", opInstallations},
	{"GET", "/app", opApp},
	{"GET", "/app/hook/deliveries", opDeliveries},
	{"POST", "/app/hook/deliveries/*/attempts", opRedeliver},
	{"GET", "/installation/repositories", opInstallationRepos},
	{"GET", "/repos/*/*/contents/**", opContents},
	{"GET", "/repos/*/*/git/blobs/*", opBlob},
	{"GET", "/repos/*/*/git/trees/**", opTree},
	{"GET", "/repos/*/*/commits/**", opCommit},
	{"GET", "/repos/*/*/branches/**", opBranch},
	{"GET", "/repos/*/*/installation", opRepoInstallation},
	{"GET", "/repos/*/*/collaborators/*/permission", opPermission},
	{"GET", "/repos/*/*", opRepo},
	{"GET", "/user", opUser},
	{"GET", "/user/installations", opUserInstallations},
	{"GET", "/user/installations/*/repositories", opUserInstRepos},
	{"POST", "/login/oauth/access_token", opOAuth},
}

// endpointName is the template of a request path (API prefix removed).
func endpointName(method, path string) string {
	for _, e := range endpoints {
		if e.method == method && matchSegments(e.pattern, path) {
			return e.name
		}
	}
	return method + " other"
}

func matchSegments(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(xs) || (p != "*" && p != xs[i]) {
			return false
		}
	}
	return len(ps) == len(xs)
}

// meter sits under every GitHub call: it reports each HTTP call to Config.OnAPICall and
// audits token mints, which ghinstallation performs inside other calls.
type meter struct {
	next      http.RoundTripper
	apiPrefix string // path of the API base URL without trailing slash, e.g. /api/v3
	c         *Client
}

func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := m.next.RoundTrip(req)
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	p := req.URL.Path
	if m.apiPrefix != "" && strings.HasPrefix(p, m.apiPrefix+"/") {
		p = strings.TrimPrefix(p, m.apiPrefix)
	}
	ep := endpointName(req.Method, p)
	if m.c.cfg.OnAPICall != nil {
		m.c.cfg.OnAPICall(ep, status, err)
	}
	if em := m.c.cfg.Metrics; em != nil {
		ms := []metrics.Metric{metrics.Count(metrics.GitHubAPICalls, 1)}
		if callFailed(status, err) {
			ms = append(ms, metrics.Count(metrics.GitHubAPIErrors, 1))
		}
		em.Emit(metrics.DimEndpoint, ep, map[string]any{"github_status": status}, ms...)
	}
	if ep == opMint {
		id, _ := strconv.ParseInt(strings.Split(strings.Trim(p, "/"), "/")[2], 10, 64)
		outcome := "ok"
		if err != nil || status/100 != 2 {
			outcome = "failed"
		}
		m.c.auditLine(req.Context(), "token_minted", id, "", outcome, slog.Int("status", status))
	}
	return resp, err
}

// callFailed: no answer, a server error, or GitHub refusing the call (rate limits,
// credentials). Not-found style answers are the API working.
func callFailed(status int, err error) bool {
	return err != nil || status >= 500 || status == http.StatusTooManyRequests ||
		status == http.StatusUnauthorized || status == http.StatusForbidden
}

type auditUserKey struct{}

// WithAuditUser attaches the acting user (e.g. the API caller) to ctx; audit lines of
// calls made with it name that user.
func WithAuditUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, auditUserKey{}, user)
}

// audit writes the one audit line of an App interaction: audit=true, action,
// installation_id, repo, user (when known), outcome ("ok", "refused" or "error") and, on
// failure, the reason (error kind) and status. Never a token, code, key or secret.
func (c *Client) audit(ctx context.Context, action string, installationID int64, repo string, err error, extra ...slog.Attr) {
	outcome := "ok"
	if err != nil {
		reason := errorReason(err)
		outcome = "error"
		switch reason {
		case "invalid_repo", "bad_code", "unauthorized", "no_access", "not_found":
			outcome = "refused"
		}
		extra = append(extra, slog.String("reason", reason))
		if s := StatusCode(err); s != 0 {
			extra = append(extra, slog.Int("status", s))
		}
	}
	c.auditLine(ctx, action, installationID, repo, outcome, extra...)
}

func (c *Client) auditLine(ctx context.Context, action string, installationID int64, repo, outcome string, extra ...slog.Attr) {
	attrs := []slog.Attr{slog.Bool("audit", true), slog.String("action", action)}
	if installationID != 0 {
		attrs = append(attrs, slog.Int64("installation_id", installationID))
	}
	if repo != "" {
		attrs = append(attrs, slog.String("repo", repo))
	}
	if user, _ := ctx.Value(auditUserKey{}).(string); user != "" {
		attrs = append(attrs, slog.String("user", user))
	}
	attrs = append(attrs, slog.String("outcome", outcome))
	attrs = append(attrs, extra...)
	c.log.LogAttrs(ctx, slog.LevelInfo, "github app "+action, attrs...)
}

// errorReason names an error's kind for logs.
func errorReason(err error) string {
	switch {
	case errors.Is(err, ErrInvalidRepo):
		return "invalid_repo"
	case errors.Is(err, ErrBadCode):
		return "bad_code"
	case errors.Is(err, ErrUnauthorized):
		return "unauthorized"
	case errors.Is(err, ErrNoAccess):
		return "no_access"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case IsRetryable(err):
		return "retryable"
	}
	return "error"
}
