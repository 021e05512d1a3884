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
