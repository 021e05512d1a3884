package ghapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"
)

// Error kinds. Test with errors.Is; an error may carry more than one (a directory is both
// ErrNotAFile and ErrNotFound).
var (
	// ErrNotFound: the file, repository, commit, branch, installation or delivery does
	// not exist, or GitHub hides it (404).
	ErrNotFound = errors.New("github: not found")
	// ErrNoAccess: the installation cannot read the repository, the installation is
	// suspended or gone, or the user cannot access the installation.
	ErrNoAccess = errors.New("github: no access")
	// ErrInvalidRepo: the repository reference is not owner/repo or a GitHub URL of one.
	ErrInvalidRepo = errors.New("github: invalid repository reference")
	// ErrUnauthorized: GitHub refused the App JWT, the user token or the OAuth client
	// credentials (401, incorrect_client_credentials).
	ErrUnauthorized = errors.New("github: credentials refused")
	// ErrBadCode: an OAuth or manifest code is unknown, expired or already used.
	ErrBadCode = errors.New("github: code invalid, expired or already used")
	// ErrNotAFile: the path names a directory, symlink or submodule.
	ErrNotAFile = errors.New("github: not a file")
	// ErrSymlink: the path is a symlink whose target is not a file of the repository
	// (GitHub follows the others); it comes with ErrNotAFile and ErrNotFound.
	ErrSymlink = errors.New("github: symlink to no file of the repository")
	// ErrTooLarge: the file is larger than Config.MaxFileSize (or the caller's limit), or
	// GitHub refused to return it as JSON (403 with the error code too_large, its answer
	// for files of 1–100 MB).
	ErrTooLarge = errors.New("github: file too large")
	// ErrTruncated: GitHub cut a file listing short (trees over 100,000 entries or 7 MB);
	// ListFiles returns the part it got with it.
	ErrTruncated = errors.New("github: listing truncated")
)

// APIError is a failed GitHub call after retries. Its text never holds credentials,
// codes or URLs.
type APIError struct {
	// Op names the endpoint, e.g. "GET /repos/{owner}/{repo}".
	Op string
	// Status is GitHub's HTTP status, 0 when no answer arrived.
	Status int
	// Message is GitHub's error message, if any.
	Message string
	// Retryable reports whether the same call may succeed later: 5xx, 429, 403 with the
	// rate limit exhausted, secondary rate limits, network failures.
	Retryable bool
	// RetryAfter is the wait GitHub asked for (Retry-After or rate limit reset), 0 if none.
	RetryAfter time.Duration
	// Mint is set when the failure happened minting the installation token.
	Mint bool

	rate  rateLimit // what the answer says about a rate limit
	kind  error
	cause error
	dial  bool
}

// Error describes the failure without secrets.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("github ")
	b.WriteString(e.Op)
	if e.Mint {
		b.WriteString(" (installation token)")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	switch {
	case e.Message != "" && e.Message != http.StatusText(e.Status):
		b.WriteString(": ")
		b.WriteString(e.Message)
	case e.Status == 0 && e.cause != nil:
		b.WriteString(": ")
		b.WriteString(safeCause(e.cause))
	}
	return b.String()
}

// Unwrap exposes the error kind and the underlying go-github or transport error.
func (e *APIError) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if e.cause != nil {
		out = append(out, e.cause)
	}
	return out
}

// IsRetryable reports whether err is a GitHub failure that may pass when retried later
// (the client already retried idempotent calls a few times).
func IsRetryable(err error) bool {
	var e *APIError
	return errors.Is(err, ErrRateLimited) || (errors.As(err, &e) && e.Retryable)
}

// StatusCode returns the HTTP status of a GitHub failure, 0 when there is none.
func StatusCode(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// safeCause renders a transport error without its URL, which may hold a code.
func safeCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// classify turns a go-github, ghinstallation or transport error into an *APIError.
func classify(op string, err error, now time.Time) *APIError {
	var e *APIError
	if errors.As(err, &e) {
		return e
	}
	e = &APIError{Op: op, cause: err}
	var (
		he    *ghinstallation.HTTPError
		rle   *github.RateLimitError
		abuse *github.AbuseRateLimitError
		er    *github.ErrorResponse
	)
	switch {
	case errors.As(err, &he):
		e.Mint = true
		if he.Response != nil {
			e.Status = he.Response.StatusCode
			e.Message = drainMessage(he.Response)
			e.Retryable = retryableStatus(e.Status, he.Response.Header)
			e.RetryAfter = retryAfter(he.Response.Header, now)
			e.rate = rateLimitOf(e.Status, he.Response.Header, e.Message, now)
		} else if he.RootCause != nil {
			e.Retryable, e.dial = networkFailure(he.RootCause)
		}
	case errors.As(err, &rle):
		e.Status = http.StatusForbidden
		if rle.Response != nil {
			e.Status = rle.Response.StatusCode
		}
		e.Message, e.Retryable = rle.Message, true
		e.rate = rateLimit{limited: true, wait: max(time.Second, rle.Rate.Reset.Sub(now))}
		e.RetryAfter = e.rate.wait
	case errors.As(err, &abuse):
		// go-github's own RetryAfter falls back to X-RateLimit-Reset, which GitHub sends
		// on every answer; rateLimitOf reads the headers as GitHub documents them.
		e.Status = http.StatusForbidden
		var h http.Header
		if abuse.Response != nil {
			e.Status, h = abuse.Response.StatusCode, abuse.Response.Header
		}
		e.Message, e.Retryable = abuse.Message, true
		e.rate = rateLimitOf(e.Status, h, e.Message, now)
		e.rate.limited = true
		e.RetryAfter = e.rate.wait
	case errors.As(err, &er) && er.Response != nil:
		e.Status, e.Message = er.Response.StatusCode, er.Message
		e.Retryable = retryableStatus(e.Status, er.Response.Header)
		e.RetryAfter = retryAfter(er.Response.Header, now)
		e.rate = rateLimitOf(e.Status, er.Response.Header, e.Message, now)
	case errors.Is(err, context.Canceled):
	default:
		e.Retryable, e.dial = networkFailure(err)
	}
	if e.rate.limited {
		e.Retryable = true
	}
	switch {
	case e.Mint && !e.Retryable && (e.Status == http.StatusForbidden || e.Status == http.StatusNotFound):
		// The installation is suspended or gone: it cannot read anything.
		e.kind = ErrNoAccess
	case e.Status == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case e.Status == http.StatusNotFound:
		e.kind = ErrNotFound
	case e.Status == http.StatusForbidden && !e.Retryable && er != nil && tooLarge(er.Errors):
		// GitHub's answer to a JSON contents request for a file of 1–100 MB: the file is
		// there, only too large for this media type.
		e.kind = ErrTooLarge
	}
	return e
}

// tooLarge reports whether GitHub's error details carry the code "too_large".
func tooLarge(errs []github.Error) bool {
	for _, d := range errs {
		if d.Code == "too_large" {
			return true
		}
	}
	return false
}

// statusError builds the *APIError of a non-success answer read by hand.
func statusError(op string, resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{Op: op, Status: resp.StatusCode}
	var msg struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &msg) == nil {
		e.Message = msg.Message
	}
	e.Retryable = retryableStatus(resp.StatusCode, resp.Header)
	e.RetryAfter = retryAfter(resp.Header, now)
	e.rate = rateLimitOf(resp.StatusCode, resp.Header, e.Message, now)
	if e.rate.limited {
		e.Retryable = true
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case http.StatusNotFound:
		e.kind = ErrNotFound
	}
	return e
}

// retryableStatus: server errors, 429, and 403 when a rate limit is exhausted.
func retryableStatus(status int, h http.Header) bool {
	switch {
	case status >= 500, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusForbidden:
		return h.Get("X-RateLimit-Remaining") == "0" || h.Get("Retry-After") != ""
	}
	return false
}

// retryAfter reads Retry-After, else the rate limit reset when the limit is exhausted.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(0, time.Unix(reset, 0).Sub(now))
		}
	}
	return 0
}

// drainMessage reads GitHub's message from an answer nobody else will read, and closes it.
func drainMessage(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var msg struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &msg)
	return msg.Message
}

// networkFailure reports whether err is a transport failure (retryable) and whether it
// happened while connecting, before the server could see the request.
func networkFailure(err error) (retryable, dial bool) {
	if errors.Is(err, context.Canceled) {
		return false, false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true, true
	}
	var ue *url.Error
	var ne net.Error
	switch {
	case errors.As(err, &ue), errors.As(err, &ne):
		return true, false
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true, false
	}
	return false, false
}
