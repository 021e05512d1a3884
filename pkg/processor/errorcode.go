package processor

import (
	"context"
	"errors"
	"net/http"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Reason codes of failed deliveries in the event log. The delivery history shows these
// to callers who are not operators; the error text (which can name internal endpoints,
// SDK errors or other tenants' repositories) stays in the log line and the operators'
// view.
const (
	CodeRateLimited       = "rate_limited"       // GitHub's primary or secondary rate limit
	CodeGitHubUnavailable = "github_unavailable" // GitHub answered 5xx or could not be reached
	CodeGitHubNoAccess    = "github_no_access"   // the installation or App was refused
	CodeNotFound          = "not_found"          // the repository, branch or file is gone
	CodeTooLarge          = "too_large"          // a file over the size limit
	CodeTimeout           = "timeout"            // the invocation ran out of time
	CodeBadEnvelope       = "bad_envelope"       // the queued message is not a usable envelope
	CodeInternal          = store.ErrorInternal  // anything else (storage, bugs)
)

// ErrorCode is the stable reason code of a delivery's failure.
func ErrorCode(err error) string {
	var apiErr *ghapp.APIError
	isAPI := errors.As(err, &apiErr)
	switch {
	case err == nil:
		return ""
	case isAPI && apiErr.Retryable && (apiErr.Status == http.StatusTooManyRequests || apiErr.Status == http.StatusForbidden):
		return CodeRateLimited
	case errors.Is(err, ghapp.ErrTooLarge):
		return CodeTooLarge
	case errors.Is(err, ghapp.ErrNoAccess), errors.Is(err, ghapp.ErrUnauthorized):
		return CodeGitHubNoAccess
	case errors.Is(err, ghapp.ErrNotFound):
		return CodeNotFound
	case isAPI && (apiErr.Status == 0 || apiErr.Status >= 500):
		return CodeGitHubUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	}
	return CodeInternal
}
