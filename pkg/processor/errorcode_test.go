package processor

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/store"
)

func TestErrorCode(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"5xx", &ghapp.APIError{Op: "GET /repos/{owner}/{repo}", Status: http.StatusBadGateway, Retryable: true}, CodeGitHubUnavailable},
		{"unreachable", fmt.Errorf("read plan: %w", &ghapp.APIError{Op: "GET /repos/{owner}/{repo}", Retryable: true}), CodeGitHubUnavailable},
		{"429", &ghapp.APIError{Op: "GET /x", Status: http.StatusTooManyRequests, Retryable: true}, CodeRateLimited},
		{"403 rate limit", &ghapp.APIError{Op: "GET /x", Status: http.StatusForbidden, Retryable: true, RetryAfter: time.Minute}, CodeRateLimited},
		{"no access", fmt.Errorf("token: %w", ghapp.ErrNoAccess), CodeGitHubNoAccess},
		{"credentials refused", ghapp.ErrUnauthorized, CodeGitHubNoAccess},
		{"not found", fmt.Errorf("head: %w", ghapp.ErrNotFound), CodeNotFound},
		{"too large", fmt.Errorf("plan: %w", ghapp.ErrTooLarge), CodeTooLarge},
		{"deadline", fmt.Errorf("sync: %w", context.DeadlineExceeded), CodeTimeout},
		{"storage", errors.New("operation error DynamoDB: PutItem, https response error StatusCode: 500, RequestID: X"), CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ErrorCode(tt.err); got != tt.want {
				t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestFailedDeliveryKeepsCode: a delivery GitHub fails is logged with its reason code
// beside the detail, through the real App client and the sandbox.
func TestFailedDeliveryKeepsCode(t *testing.T) {
	e, sb := sandboxEnv(t)
	if err := sb.WriteFile(e.owner, e.name, "docs/plan.md", []byte(planV1)); err != nil {
		t.Fatal(err)
	}
	e.addProject(nil)
	tests := []struct {
		name   string
		inject func()
		want   string
	}{
		{"GitHub 502", func() { sb.FailNext("GET", "/repos/*/*/commits/**", 3, http.StatusBadGateway) }, CodeGitHubUnavailable},
		{"rate limited", func() {
			sb.RateLimitNext("GET", "/repos/*/*/commits/**", 3, http.StatusForbidden, time.Now().Add(40*time.Minute))
		}, CodeRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.inject()
			d := e.build("push", e.onRepo(map[string]any{
				"ref": "refs/heads/main", "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "after": "7113728f27ae82c7b1a177c8d03f9e96e0adf247",
				"created": false, "deleted": false, "repository": map[string]any{"default_branch": "main", "owner": map[string]any{"login": e.owner}},
				"commits": []any{map[string]any{"id": "7113728f27ae82c7b1a177c8d03f9e96e0adf247", "added": []any{}, "removed": []any{}, "modified": []any{"docs/plan.md"}}},
			}))
			e.clock.Advance(time.Millisecond)
			m := d.msg()
			if failed := e.handle(m); !slices.Equal(failed, []string{m.MessageId}) {
				t.Fatalf("failed = %v, want the record", failed)
			}
			ev := e.event(d.env.DeliveryID)
			if ev.Status != store.EventFailed || ev.ErrorCode != tt.want || ev.Error == "" {
				t.Errorf("event = %s code %q error %q, want failed, code %q and the detail", ev.Status, ev.ErrorCode, ev.Error, tt.want)
			}
		})
	}
}
