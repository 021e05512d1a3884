package ghapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate limit waits (see doc.go, "Rate limits").
const (
	// SecondaryBaseWait is the wait after a secondary rate limit that names neither
	// Retry-After nor an exhausted limit: GitHub asks for at least a minute.
	SecondaryBaseWait = time.Minute
	// SecondaryMaxWait caps the doubling of SecondaryBaseWait on repeated secondary
	// limits; an hour is the primary limit's whole window.
	SecondaryMaxWait = time.Hour
)

// ErrRateLimited is the kind of a *RateLimitError: test with errors.Is.
var ErrRateLimited = errors.New("github: rate limited")

// RateLimitError reports that GitHub rate-limited an installation's (or the App's) calls
// and how long no call should be made. The client returns it instead of sleeping when
// the wait is longer than Config.MaxRetryWait, so the caller can defer the work (e.g.
// give an SQS message back for Wait). IsRetryable is true for it.
type RateLimitError struct {
	// Op names the endpoint of the refused call.
	Op string
	// InstallationID is the limited installation, 0 for App and user calls.
	InstallationID int64
	// Wait is how long from now the next call must wait.
	Wait time.Duration
	// Until is when calls may resume (now + Wait by the client's clock).
	Until time.Time
	// Local is set when the client refused the call itself, without asking GitHub,
	// because an earlier answer's wait has not passed yet.
	Local bool

	answer *APIError // GitHub's answer; nil when Local
}

// Error describes the limit without secrets.
func (e *RateLimitError) Error() string {
	var b strings.Builder
	if e.answer != nil {
		b.WriteString(e.answer.Error())
	} else {
		fmt.Fprintf(&b, "github %s: not sent", e.Op)
	}
	b.WriteString(": rate limited")
	if e.InstallationID != 0 {
		fmt.Fprintf(&b, " (installation %d)", e.InstallationID)
	}
	fmt.Fprintf(&b, ", retry in %s", e.Wait.Round(time.Second))
	return b.String()
}

// Unwrap exposes ErrRateLimited and GitHub's answer (an *APIError) when there was one.
func (e *RateLimitError) Unwrap() []error {
	out := []error{ErrRateLimited}
	if e.answer != nil {
		out = append(out, e.answer)
	}
	return out
}

// RetryAfter returns how long to wait before the work that failed with err may be tried
// again: the Wait of a *RateLimitError (true), else 0 (false).
func RetryAfter(err error) (time.Duration, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.Wait, true
	}
	return 0, false
}

// rateLimit is what an answer says about a rate limit.
type rateLimit struct {
	limited bool
	// wait is GitHub's own wait (Retry-After, or the reset of an exhausted limit);
	// 0 for a secondary limit naming neither, which the limiter backs off for.
	wait time.Duration
}

// rateLimitOf reads GitHub's documented rate limit signals: a 403 or 429 with
// Retry-After or X-RateLimit-Remaining 0, a 429, or a 403 whose message names a
// secondary rate limit (GitHub sends it with or without Retry-After).
func rateLimitOf(status int, h http.Header, message string, now time.Time) rateLimit {
	if status != http.StatusForbidden && status != http.StatusTooManyRequests {
		return rateLimit{}
	}
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && secs >= 0 {
			// A zero Retry-After still must not become a tight loop: one second.
			return rateLimit{limited: true, wait: max(time.Duration(secs)*time.Second, time.Second)}
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// A reset already passed (clock skew) waits a second rather than not at all.
			return rateLimit{limited: true, wait: max(time.Unix(reset, 0).Sub(now), time.Second)}
		}
		return rateLimit{limited: true}
	}
	if status == http.StatusTooManyRequests || strings.Contains(strings.ToLower(message), "rate limit") {
		return rateLimit{limited: true}
	}
	return rateLimit{}
}

// limiter is the rate limit state of one installation (or of the App), kept apart per
// installation so that one installation's lockout never delays another's calls.
type limiter struct {
	mu    sync.Mutex
	until time.Time // no call before this
	// strikes counts secondary limits without a wait of GitHub's own since the last
	// success; each doubles the next backoff.
	strikes int
	// recovering is set from a rate limit answer to the next success: meanwhile one
	// call at a time (holding probe) finds out whether the limit is over, so that the
	// callers held back by a wait do not all ask GitHub at once when it ends.
	recovering bool
	probe      chan struct{}
}

// newLimiter returns a limiter with no limit in force.
func newLimiter() *limiter { return &limiter{probe: make(chan struct{}, 1)} }

// acquire waits, while the limiter is recovering, until the caller may call GitHub, and
// returns the function that lets the next caller go.
func (l *limiter) acquire(ctx context.Context) (release func(), err error) {
	if l == nil {
		return func() {}, nil
	}
	l.mu.Lock()
	recovering := l.recovering
	l.mu.Unlock()
	if !recovering {
		return func() {}, nil
	}
	select {
	case l.probe <- struct{}{}:
		return func() { <-l.probe }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// remaining is how long calls must still wait.
func (l *limiter) remaining(now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(0, l.until.Sub(now))
}

// limited records a rate limit answer and returns the wait it imposes: GitHub's own
// when it gave one, else SecondaryBaseWait doubled for each repeat, up to
// SecondaryMaxWait. A nil limiter (App and user calls) remembers nothing.
func (l *limiter) limited(rl rateLimit, now time.Time) time.Duration {
	if l == nil {
		if rl.wait > 0 {
			return rl.wait
		}
		return SecondaryBaseWait
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recovering = true
	wait := rl.wait
	if wait <= 0 {
		l.strikes++
		wait = SecondaryMaxWait
		if l.strikes <= 6 { // 1m << 6 is past the cap already
			wait = min(SecondaryBaseWait<<(l.strikes-1), SecondaryMaxWait)
		}
	}
	if until := now.Add(wait); until.After(l.until) {
		l.until = until
	}
	return l.until.Sub(now)
}

// succeeded forgets the repeats after GitHub answered a call without a rate limit.
func (l *limiter) succeeded() {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.strikes, l.recovering = 0, false
}

// limiterOf returns the installation's limiter, creating it on first use. It outlives
// ForgetInstallation: a new token does not lift a rate limit.
func (c *Client) limiterOf(installationID int64) *limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limits[installationID]
	if !ok {
		l = newLimiter()
		c.limits[installationID] = l
	}
	return l
}

// freshREST replaces an installation's go-github client by a new one over the same
// transport (and token). go-github remembers rate limits itself, by the real clock, and
// for a secondary limit without Retry-After until X-RateLimit-Reset (up to an hour),
// refusing every call until then; the limiter is the one authority here.
func (c *Client) freshREST(installationID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ic, ok := c.insts[installationID]; ok {
		c.insts[installationID] = &installationClient{tr: ic.tr, gh: c.instREST(installationID, ic.tr)}
	}
}
