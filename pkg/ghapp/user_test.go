package ghapp

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

func TestExchangeCode(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	ctx := context.Background()
	before := time.Now()
	tok, err := e.c.ExchangeCode(ctx, "any-code")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.TokenType != "bearer" || tok.ExpiresAt.Before(before.Add(7*time.Hour)) || tok.RefreshToken == "" {
		t.Errorf("token = %+v (expires %v), want bearer token expiring in 8h with a refresh token", tok, tok.ExpiresAt)
	}
	login, id, err := e.c.User(ctx, tok.AccessToken)
	if err != nil || login != e.sb.SandboxUser() || id == 0 {
		t.Errorf("User = %q, %d, %v; want the sandbox user", login, id, err)
	}

	e.sb.AddOAuthCode("once", "frank")
	if _, err := e.c.ExchangeCode(ctx, "once"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ExchangeCode(ctx, "once"); !errors.Is(err, ErrBadCode) {
		t.Errorf("replayed code = %v, want ErrBadCode", err)
	}
	e.sb.AddOAuthCode("stale", "frank")
	e.sb.ExpireOAuthCode("stale")
	if _, err := e.c.ExchangeCode(ctx, "stale"); !errors.Is(err, ErrBadCode) {
		t.Errorf("expired code = %v, want ErrBadCode", err)
	}
	e.sb.ResetCalls()
	if _, err := e.c.ExchangeCode(ctx, ""); !errors.Is(err, ErrBadCode) || len(e.sb.Calls()) != 0 {
		t.Errorf("empty code = %v after %d calls, want ErrBadCode without a call", err, len(e.sb.Calls()))
	}
	wrong := e.client(t, func(c *Config) { c.ClientSecret = "wrong" })
	if _, err := wrong.ExchangeCode(ctx, "x"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong client secret = %v, want ErrUnauthorized", err)
	}
	unconfigured := e.client(t, func(c *Config) { c.ClientID, c.ClientSecret = "", "" })
	if _, err := unconfigured.ExchangeCode(ctx, "x"); err == nil {
		t.Error("exchange without client credentials = nil error, want one")
	}
	if _, _, err := e.c.User(ctx, "ghu_bogus"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("User with a bogus token = %v, want ErrUnauthorized", err)
	}

	t.Run("5xx is retried", func(t *testing.T) {
		e.sb.FailNext("POST", "/login/oauth/access_token", 1, 502)
		if _, err := e.c.ExchangeCode(ctx, "after-502"); err != nil {
			t.Errorf("ExchangeCode after a 502 = %v, want success on retry", err)
		}
	})
	t.Run("429 is not retried", func(t *testing.T) {
		e.sb.ResetCalls()
		e.sb.SecondaryRateLimitNext("POST", "/login/oauth/access_token", 1, 429, time.Second)
		_, err := e.c.ExchangeCode(ctx, "x")
		if !IsRetryable(err) || StatusCode(err) != 429 {
			t.Errorf("ExchangeCode on 429 = %v, want retryable 429 surfaced", err)
		}
		if n := e.sb.CountCalls("POST", "/login/oauth/access_token"); n != 1 {
			t.Errorf("exchange calls = %d, want 1", n)
		}
	})
}

func TestUserInstallations(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "org-2", "a", "f", "x")
	e.write(t, "org-2", "b", "f", "x")
	const n = 150
	for i := 2; i < n+2; i++ {
		in := ghsandbox.Installation{ID: int64(i), Account: "org-" + strconv.Itoa(i), AccountType: "Organization", Users: []string{"grace"}}
		if i == 2 {
			in.Repos = []string{"org-2/a"}
		}
		if err := e.sb.AddInstallation(in); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	tok := e.sb.IssueUserToken("grace")
	list, err := e.c.UserInstallations(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n || list[0].ID != 2 || list[0].AccountLogin != "org-2" || list[0].AccountType != "Organization" ||
		list[0].AccountID == 0 || list[0].RepositorySelection != "selected" || list[n-1].ID != n+1 {
		t.Fatalf("UserInstallations = %d, first %+v; want %d starting with org-2", len(list), list[0], n)
	}
	if calls := e.sb.CountCalls("GET", "/user/installations"); calls != 2 {
		t.Errorf("pages = %d, want 2", calls)
	}
	if in, err := e.c.UserInstallation(ctx, tok, 2); err != nil || in.AccountLogin != "org-2" {
		t.Errorf("UserInstallation(2) = %+v, %v; want org-2", in, err)
	}
	if _, err := e.c.UserInstallation(ctx, tok, 1); !errors.Is(err, ErrNoAccess) {
		t.Errorf("UserInstallation(1) for grace = %v, want ErrNoAccess", err)
	}
	repos, err := e.c.UserInstallationRepositories(ctx, tok, 2)
	if err != nil || len(repos) != 1 || repos[0].FullName != "org-2/a" {
		t.Errorf("UserInstallationRepositories(2) = %+v, %v; want org-2/a", repos, err)
	}
	if _, err := e.c.UserInstallationRepositories(ctx, tok, 1); !errors.Is(err, ErrNoAccess) {
		t.Errorf("UserInstallationRepositories(1) for grace = %v, want ErrNoAccess", err)
	}
	if _, err := e.c.UserInstallations(ctx, "ghu_bogus"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("UserInstallations with a bogus token = %v, want ErrUnauthorized", err)
	}
}

func TestInstallations(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 9, Account: "acme", AccountType: "Organization", Suspended: true}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in, err := e.c.Installation(ctx, 1)
	if err != nil || in.AccountLogin != e.sb.SandboxUser() || in.AccountType != "User" || in.RepositorySelection != "all" || in.AppID != e.sb.AppID() {
		t.Errorf("Installation(1) = %+v, %v; want the sandbox user's installation", in, err)
	}
	if in, err := e.c.Installation(ctx, 9); err != nil || in.SuspendedAt == nil {
		t.Errorf("Installation(9) = %+v, %v; want suspended", in, err)
	}
	if _, err := e.c.Installation(ctx, 404); !errors.Is(err, ErrNotFound) {
		t.Errorf("Installation(404) = %v, want ErrNotFound", err)
	}
	list, err := e.c.Installations(ctx)
	if err != nil || len(list) != 2 || list[0].ID != 1 || list[1].ID != 9 {
		t.Errorf("Installations = %+v, %v; want 1 and 9", list, err)
	}
}

func TestHookDeliveriesAndRedeliver(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	now := time.Now().UTC().Truncate(time.Second)
	var recent []ghsandbox.Delivery
	for i := range 250 {
		d := e.sb.AddDelivery(ghsandbox.Delivery{DeliveredAt: now.Add(-time.Duration(i) * time.Minute), StatusCode: 200, Event: "push", InstallationID: 1})
		if i < 130 {
			recent = append(recent, d)
		}
	}
	ctx := context.Background()
	since := now.Add(-129 * time.Minute)
	list, err := e.c.HookDeliveries(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(recent) || list[0].ID != recent[0].ID || list[len(list)-1].ID != recent[len(recent)-1].ID {
		t.Fatalf("HookDeliveries = %d, want the %d since %v, newest first", len(list), len(recent), since)
	}
	d := list[0]
	if d.GUID != recent[0].GUID || d.Status != "OK" || d.StatusCode != 200 || d.Event != "push" || d.InstallationID != 1 || !d.DeliveredAt.Equal(now) {
		t.Errorf("delivery = %+v, want %+v", d, recent[0])
	}
	if calls := e.sb.CountCalls("GET", "/app/hook/deliveries"); calls != 2 {
		t.Errorf("pages = %d, want 2 (stops at older deliveries)", calls)
	}
	if err := e.c.Redeliver(ctx, recent[3].ID); err != nil {
		t.Fatalf("Redeliver = %v", err)
	}
	if got := e.sb.Redelivered(); len(got) != 1 || got[0] != recent[3].ID {
		t.Errorf("Redelivered = %v, want [%d]", got, recent[3].ID)
	}
	if err := e.c.Redeliver(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("Redeliver(unknown) = %v, want ErrNotFound", err)
	}
}
