package store

import (
	"context"
	"testing"
)

func TestUserInstallationLinks(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, l := range []UserInstallation{
		{UserID: "alice", InstallationID: 2, GitHubLogin: "alice-gh"},
		{UserID: "alice", InstallationID: 1, GitHubLogin: "alice-gh"},
		{UserID: "bob", InstallationID: 2, GitHubLogin: "bob-gh"},
	} {
		got, err := s.LinkUserInstallation(ctx, l)
		if err != nil || got.LinkedAt.IsZero() {
			t.Fatalf("LinkUserInstallation(%+v) = %+v, %v, want a link with a time", l, got, err)
		}
	}
	// Linking again refreshes rather than duplicates.
	if _, err := s.LinkUserInstallation(ctx, UserInstallation{UserID: "alice", InstallationID: 1, GitHubLogin: "alice-renamed"}); err != nil {
		t.Fatalf("LinkUserInstallation(again) error = %v", err)
	}
	tests := []struct {
		user  string
		want  []int64
		login string
	}{
		{"alice", []int64{1, 2}, "alice-renamed"},
		{"bob", []int64{2}, "bob-gh"},
		{"carol", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := s.UserInstallations(ctx, tt.user)
			if err != nil {
				t.Fatalf("UserInstallations(%s) error = %v", tt.user, err)
			}
			var ids []int64
			for _, l := range got {
				ids = append(ids, l.InstallationID)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("UserInstallations(%s) = %v, want %v", tt.user, ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("UserInstallations(%s) = %v, want %v", tt.user, ids, tt.want)
				}
			}
			if len(got) > 0 && got[0].GitHubLogin != tt.login {
				t.Errorf("UserInstallations(%s)[0].GitHubLogin = %q, want %q", tt.user, got[0].GitHubLogin, tt.login)
			}
		})
	}
	if _, err := s.LinkUserInstallation(ctx, UserInstallation{UserID: "alice"}); err == nil {
		t.Errorf("LinkUserInstallation(no installation) error = nil, want an error")
	}
}

func TestUnlinkUserInstallation(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	for _, l := range []UserInstallation{
		{UserID: "alice", InstallationID: 1, GitHubLogin: "alice-gh", GitHubUserID: 11},
		{UserID: "alice", InstallationID: 2, GitHubLogin: "alice-gh", GitHubUserID: 11},
		{UserID: "bob", InstallationID: 1, GitHubLogin: "bob-gh", GitHubUserID: 12},
	} {
		if _, err := s.LinkUserInstallation(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UnlinkUserInstallation(ctx, "alice", 1); err != nil {
		t.Fatalf("UnlinkUserInstallation(alice, 1) error = %v", err)
	}
	if err := s.UnlinkUserInstallation(ctx, "alice", 1); err != nil {
		t.Errorf("UnlinkUserInstallation(again) error = %v, want nil", err)
	}
	alice, err := s.UserInstallations(ctx, "alice")
	if err != nil || len(alice) != 1 || alice[0].InstallationID != 2 || alice[0].GitHubUserID != 11 {
		t.Errorf("UserInstallations(alice) = %+v, %v, want only installation 2 with the GitHub user id", alice, err)
	}
	if bob, err := s.UserInstallations(ctx, "bob"); err != nil || len(bob) != 1 {
		t.Errorf("UserInstallations(bob) = %+v, %v, want bob's link untouched", bob, err)
	}
}
