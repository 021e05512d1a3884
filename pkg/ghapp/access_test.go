package ghapp

import (
	"context"
	"errors"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
)

func TestRepositoryPermission(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "octo-org", "plan", "docs/plan.md", "x")
	e.write(t, "octo-org", "secret", "docs/plan.md", "x")
	e.write(t, "elsewhere", "other", "README.md", "x")
	e.sb.RemoveInstallation(1)
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 5, Account: "octo-org", AccountType: "Organization",
		Repos: []string{"octo-org/plan", "octo-org/secret"}, Users: []string{"member"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SetPermission("octo-org/secret", "member", ghsandbox.PermNone); err != nil {
		t.Fatal(err)
	}
	e.sb.DeleteUser("gone")
	tests := []struct {
		repo, login string
		want        string
		canRead     bool
		err         error
	}{
		{"plan", "member", PermissionRead, true, nil},
		{"secret", "member", PermissionNone, false, nil},
		{"plan", "octo-org", PermissionAdmin, true, nil},
		{"plan", "stranger", PermissionNone, false, nil},
		{"plan", "gone", "", false, ErrNotFound},
		{"plan", "bad/login", "", false, ErrNotFound},
	}
	for _, tt := range tests {
		p, err := e.c.RepositoryPermission(context.Background(), 5, "octo-org", tt.repo, tt.login)
		if !errors.Is(err, tt.err) || (tt.err != nil) != (err != nil) {
			t.Errorf("RepositoryPermission(%s, %s) error = %v, want %v", tt.repo, tt.login, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		if p.Permission != tt.want || p.CanRead() != tt.canRead || p.Login != tt.login || p.UserID == 0 {
			t.Errorf("RepositoryPermission(%s, %s) = %+v, want %s (can read %v) with the user's id", tt.repo, tt.login, p, tt.want, tt.canRead)
		}
	}
	if _, err := e.c.RepositoryPermission(context.Background(), 5, "elsewhere", "other", "member"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RepositoryPermission on a repository outside the installation error = %v, want ErrNotFound", err)
	}
}

func TestRepositoryInstallation(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "octo-org", "plan", "docs/plan.md", "x")
	e.write(t, "octo-org", "uncovered", "docs/plan.md", "x")
	e.sb.RemoveInstallation(1)
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 5, Account: "octo-org", AccountType: "Organization", Repos: []string{"octo-org/plan"}}); err != nil {
		t.Fatal(err)
	}
	in, err := e.c.RepositoryInstallation(context.Background(), "octo-org", "plan")
	if err != nil || in.ID != 5 || in.AccountLogin != "octo-org" || in.RepositorySelection != "selected" {
		t.Errorf("RepositoryInstallation(octo-org/plan) = %+v, %v, want installation 5", in, err)
	}
	for _, repo := range []string{"uncovered", "missing"} {
		if _, err := e.c.RepositoryInstallation(context.Background(), "octo-org", repo); !errors.Is(err, ErrNotFound) {
			t.Errorf("RepositoryInstallation(octo-org/%s) error = %v, want ErrNotFound", repo, err)
		}
	}
}
