package ghsandbox

import (
	"net/http"
	"strconv"
	"time"
)

// GitHub's REST rate limits: an installation (and the App, and a user) gets 5,000
// requests an hour; an unauthenticated caller 60.
const (
	rateLimitPerHour      = 5000
	rateLimitAnonymous    = 60
	rateLimitWindow       = time.Hour
	secondaryLimitMessage = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
	secondaryLimitDocs    = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
	primaryLimitMessage   = "API rate limit exceeded for installation."
	primaryLimitDocs      = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits"
)

// RateLimitShape is one of the ways GitHub refuses a rate-limited call.
type RateLimitShape int

// The shapes GitHub documents.
const (
	// PrimaryLimit: 403, X-RateLimit-Remaining 0, X-RateLimit-Reset when it ends.
	PrimaryLimit RateLimitShape = iota + 1
	// SecondaryRetryAfter: 403 with Retry-After (seconds left, or RateLimit.RetryAfter).
	SecondaryRetryAfter
	// SecondaryForbidden: 403 without Retry-After; the rate headers show requests left
	// and the hourly window's reset, which is not when the limit ends.
	SecondaryForbidden
	// SecondaryTooMany: 429 without Retry-After.
	SecondaryTooMany
)

// RateLimit makes every call with an installation's token answer a rate limit refusal
// until Until (by the sandbox clock).
type RateLimit struct {
	Shape RateLimitShape
	Until time.Time
	// RetryAfter is the Retry-After of SecondaryRetryAfter; the time left until Until
	// (rounded up to a second) when zero.
	RetryAfter time.Duration
}

// rateWindow counts one caller's requests in the current hour.
type rateWindow struct {
	used  int
	reset time.Time
}

// SetRateLimit rate-limits installation id's calls as rl says (other installations
// are not affected, as on GitHub). A zero rl.Until lifts the limit.
func (s *Sandbox) SetRateLimit(id int64, rl RateLimit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rl.Until.IsZero() {
		delete(s.rateLimits, id)
		return
	}
	s.rateLimits[id] = rl
}

// rateBucket names whose limit a call counts against.
func rateBucket(cred Credential, installationID int64, r *http.Request) string {
	switch cred {
	case CredInstallationToken:
		return "installation:" + strconv.FormatInt(installationID, 10)
	case CredAppJWT:
		return "app"
	case CredUserToken:
		return "user:" + r.Header.Get("Authorization")
	}
	return "anonymous"
}

// countCall counts the call against its caller's hourly limit and sets GitHub's rate
// limit headers, which GitHub sends on every REST answer.
func (s *Sandbox) countCall(h http.Header, bucket string) {
	limit := rateLimitPerHour
	if bucket == "anonymous" {
		limit = rateLimitAnonymous
	}
	now := s.now()
	s.mu.Lock()
	w, ok := s.rateWindows[bucket]
	if !ok || !now.Before(w.reset) {
		w = &rateWindow{reset: now.Add(rateLimitWindow).Truncate(time.Second)}
		s.rateWindows[bucket] = w
	}
	w.used = min(w.used+1, limit)
	used, reset := w.used, w.reset
	s.mu.Unlock()
	setRateHeaders(h, limit, used, reset)
}

// uncountCall gives back a call countCall counted (GitHub does not count a 304 against
// the limit) and sets the headers to what is left.
func (s *Sandbox) uncountCall(h http.Header, bucket string) {
	limit := rateLimitPerHour
	if bucket == "anonymous" {
		limit = rateLimitAnonymous
	}
	s.mu.Lock()
	w, ok := s.rateWindows[bucket]
	if !ok {
		s.mu.Unlock()
		return
	}
	w.used = max(w.used-1, 0)
	used, reset := w.used, w.reset
	s.mu.Unlock()
	setRateHeaders(h, limit, used, reset)
}

// setRateHeaders sets GitHub's rate limit headers.
func setRateHeaders(h http.Header, limit, used int, reset time.Time) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(limit-used))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
}

// rateLimited writes the refusal of a call by a rate-limited installation and reports
// whether it did.
func (s *Sandbox) rateLimited(w http.ResponseWriter, installationID int64) bool {
	now := s.now()
	s.mu.Lock()
	rl, ok := s.rateLimits[installationID]
	s.mu.Unlock()
	if !ok || !now.Before(rl.Until) {
		return false
	}
	h := w.Header()
	status, msg, docs := http.StatusForbidden, secondaryLimitMessage, secondaryLimitDocs
	switch rl.Shape {
	case PrimaryLimit:
		msg, docs = primaryLimitMessage, primaryLimitDocs
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Used", h.Get("X-RateLimit-Limit"))
		h.Set("X-RateLimit-Reset", strconv.FormatInt(rl.Until.Unix(), 10))
	case SecondaryRetryAfter:
		wait := rl.RetryAfter
		if wait <= 0 {
			wait = rl.Until.Sub(now) + time.Second - time.Nanosecond
		}
		h.Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
	case SecondaryTooMany:
		status = http.StatusTooManyRequests
	}
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": docs, "status": strconv.Itoa(status)})
	return true
}
