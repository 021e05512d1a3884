package ghapp

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// clockEnv is an env whose client and sandbox share a test clock.
func clockEnv(t *testing.T) (*env, *testkit.Clock) {
	t.Helper()
	clk := testkit.NewClock(time.Now().UTC().Truncate(time.Second))
	e := newEnv(t, ghsandbox.Options{Now: clk.Now}, func(c *Config) { c.Now = clk.Now })
	e.write(t, "o", "r", "f", "x")
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 2, Account: "o", Repos: []string{"o/r"}}); err != nil {
		t.Fatal(err)
	}
	// Mint both tokens now, while the App JWT (signed by the real clock) is valid.
	for _, id := range []int64{1, 2} {
		if _, err := e.c.InstallationToken(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	return e, clk
}

// rateLimited asserts err is a *RateLimitError for the installation asking for want.
func rateLimited(t *testing.T, err error, installation int64, want time.Duration, local bool) {
	t.Helper()
	var rl *RateLimitError
	if !errors.As(err, &rl) || !errors.Is(err, ErrRateLimited) || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable *RateLimitError", err)
	}
	if rl.InstallationID != installation || rl.Wait != want || rl.Local != local {
		t.Errorf("RateLimitError = installation %d wait %s local %v, want %d %s %v", rl.InstallationID, rl.Wait, rl.Local, installation, want, local)
	}
	if w, ok := RetryAfter(err); !ok || w != want {
		t.Errorf("RetryAfter(err) = %s %v, want %s true", w, ok, want)
	}
}

// TestSecondaryLimitAsGitHubSendsIt is issue 11's case: a 403 secondary limit without
// Retry-After, whose X-RateLimit-Reset (sent on every answer) is 40 minutes ahead.
// GitHub asks for at least a minute's wait, growing on repeats: not 40 minutes, and not
// a local refusal of every call until the reset.
func TestSecondaryLimitAsGitHubSendsIt(t *testing.T) {
	ctx := context.Background()
	e, clk := clockEnv(t)
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "4321")
	h.Set("X-RateLimit-Used", "679")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(clk.Now().Add(40*time.Minute).Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	secondary := ghsandbox.Fault{
		Method: "GET", Path: "/repos/o/r/contents/f", Status: 403, Header: h,
		Message:          "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
		DocumentationURL: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
	}
	calls := func() int { return e.sb.CountCalls("GET", "/repos/o/r/contents/f") }

	e.sb.InjectFault(secondary)
	_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	rateLimited(t, err, 1, time.Minute, false)
	if StatusCode(err) != 403 {
		t.Errorf("StatusCode = %d, want GitHub's 403", StatusCode(err))
	}
	// Within the minute the client does not ask GitHub (asking while limited risks a ban).
	clk.Advance(20 * time.Second)
	_, err = e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	rateLimited(t, err, 1, 40*time.Second, true)
	if n := calls(); n != 1 {
		t.Errorf("calls while limited = %d, want 1", n)
	}
	// After the minute it asks again; limited again, the wait doubles.
	clk.Advance(40 * time.Second)
	e.sb.InjectFault(secondary)
	_, err = e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	rateLimited(t, err, 1, 2*time.Minute, false)
	if n := calls(); n != 2 {
		t.Errorf("calls after the first wait = %d, want 2", n)
	}
	// After the second wait the call goes through: no 40-minute lockout.
	clk.Advance(2 * time.Minute)
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
		t.Fatalf("FileContent after the waits = %v, want success", err)
	}
	// A success forgets the repeats: the next limit waits a minute again.
	e.sb.InjectFault(secondary)
	_, err = e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	rateLimited(t, err, 1, time.Minute, false)
	if w := e.sleeps.list(); len(w) != 0 {
		t.Errorf("slept %v in-process, want no sleep for waits over MaxRetryWait", w)
	}
}

// TestTooManyRequestsWithoutRetryAfter: a 429 without Retry-After is a secondary limit
// (wait at least a minute), not a failure to retry at once.
func TestTooManyRequestsWithoutRetryAfter(t *testing.T) {
	e, _ := clockEnv(t)
	e.sb.SecondaryRateLimitNext("GET", "/repos/o/r", 3, 429, 0)
	_, err := e.c.Repository(context.Background(), 1, "o", "r")
	rateLimited(t, err, 1, time.Minute, false)
	if n := e.sb.CountCalls("GET", "/repos/o/r"); n != 1 {
		t.Errorf("calls = %d, want 1 (no retry within the minute)", n)
	}
	if w := e.sleeps.list(); len(w) != 0 {
		t.Errorf("slept %v, want none", w)
	}
}

// TestRateLimitShapes: each shape GitHub answers gives the wait its rules say, and the
// lockout of one installation leaves another's calls alone.
func TestRateLimitShapes(t *testing.T) {
	tests := []struct {
		name  string
		rl    ghsandbox.RateLimit
		want  time.Duration
		codes int
	}{
		{"primary: until the reset", ghsandbox.RateLimit{Shape: ghsandbox.PrimaryLimit}, 20 * time.Minute, 403},
		{"secondary with Retry-After", ghsandbox.RateLimit{Shape: ghsandbox.SecondaryRetryAfter, RetryAfter: 90 * time.Second}, 90 * time.Second, 403},
		{"secondary 403 without Retry-After", ghsandbox.RateLimit{Shape: ghsandbox.SecondaryForbidden}, time.Minute, 403},
		{"secondary 429 without Retry-After", ghsandbox.RateLimit{Shape: ghsandbox.SecondaryTooMany}, time.Minute, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			e, clk := clockEnv(t)
			tt.rl.Until = clk.Now().Add(20 * time.Minute)
			e.sb.SetRateLimit(1, tt.rl)
			_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
			rateLimited(t, err, 1, tt.want, false)
			if StatusCode(err) != tt.codes {
				t.Errorf("StatusCode = %d, want %d", StatusCode(err), tt.codes)
			}
			if _, err := e.c.FileContent(ctx, 2, "o", "r", "f", "", 0); err != nil {
				t.Errorf("installation 2 while 1 is limited = %v, want success", err)
			}
			if _, _, err := e.c.HeadCommit(ctx, 1, "o", "r", "main"); !errors.Is(err, ErrRateLimited) {
				t.Errorf("another call of installation 1 = %v, want refused as rate limited", err)
			}
			if n := e.sb.CountCalls("", "/repos/o/r/**"); n != 2 {
				t.Errorf("repository calls = %d, want 2 (one per installation)", n)
			}
			clk.Advance(20 * time.Minute)
			e.sb.SetRateLimit(1, ghsandbox.RateLimit{})
			if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
				t.Errorf("after the wait = %v, want success", err)
			}
		})
	}
}

// TestShortRateLimitWaitIsSlept: a wait within MaxRetryWait is slept, then retried.
func TestShortRateLimitWaitIsSlept(t *testing.T) {
	e, _ := clockEnv(t)
	e.sb.SecondaryRateLimitNext("GET", "/repos/o/r", 1, 403, 3*time.Second)
	if _, err := e.c.Repository(context.Background(), 1, "o", "r"); err != nil {
		t.Fatalf("Repository = %v, want success after the wait", err)
	}
	if w := e.sleeps.list(); len(w) != 1 || w[0] != 3*time.Second {
		t.Errorf("sleeps = %v, want one of 3s", w)
	}
}

func TestLimiterBackoffIsCapped(t *testing.T) {
	var l limiter
	now := time.Now()
	var got []time.Duration
	for range 9 {
		got = append(got, l.limited(rateLimit{limited: true}, now))
		now = now.Add(got[len(got)-1])
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		if got[i] != want[i]*time.Minute {
			t.Errorf("limited() #%d = %s, want %s", i+1, got[i], want[i]*time.Minute)
		}
	}
}

// TestOneProbeAfterAWait: when a wait ends, callers held back do not all ask GitHub at
// once; one finds out whether the limit is over, and the others follow its answer.
func TestOneProbeAfterAWait(t *testing.T) {
	ctx := context.Background()
	e, clk := clockEnv(t)
	e.sb.SetRateLimit(1, ghsandbox.RateLimit{Shape: ghsandbox.SecondaryForbidden, Until: clk.Now().Add(20 * time.Minute)})
	_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	rateLimited(t, err, 1, time.Minute, false)
	calls := func() int { return e.sb.CountCalls("GET", "/repos/o/r/contents/f") }

	concurrently := func(n int) []error {
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
			}()
		}
		wg.Wait()
		return errs
	}
	clk.Advance(time.Minute)
	local := 0
	for _, err := range concurrently(5) {
		var rl *RateLimitError
		if !errors.As(err, &rl) {
			t.Fatalf("call after the wait = %v, want rate limited", err)
		}
		if rl.Local {
			local++
		}
	}
	if n := calls(); n != 2 || local != 4 {
		t.Errorf("calls = %d, refused locally %d; want 2 (one probe after the wait) and 4", n, local)
	}
	clk.Advance(2 * time.Minute)
	e.sb.SetRateLimit(1, ghsandbox.RateLimit{})
	for _, err := range concurrently(5) {
		if err != nil {
			t.Errorf("call after the limit = %v, want success", err)
		}
	}
}

// TestLimitOverOnAnyOtherAnswer: an answer that is not a rate limit (here a 404) ends
// the recovery, so calls are no longer sent one at a time and repeats are forgotten.
func TestLimitOverOnAnyOtherAnswer(t *testing.T) {
	ctx := context.Background()
	e, clk := clockEnv(t)
	e.sb.SecondaryRateLimitNext("GET", "/repos/o/r/contents/f", 1, 403, 0)
	_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	rateLimited(t, err, 1, time.Minute, false)
	clk.Advance(time.Minute)
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "missing", "", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("FileContent(missing) = %v, want ErrNotFound", err)
	}
	l := e.c.limiterOf(1)
	l.mu.Lock()
	recovering, strikes := l.recovering, l.strikes
	l.mu.Unlock()
	if recovering || strikes != 0 {
		t.Errorf("after a 404: recovering %v, strikes %d; want false, 0", recovering, strikes)
	}
}
