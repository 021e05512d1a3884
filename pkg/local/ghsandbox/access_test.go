package ghsandbox

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestRepositoryPermission: GET /repos/{owner}/{repo}/collaborators/{username}/permission
// answers as GitHub does: 200 with permission (none included), role_name and the user for
// an installation token that sees the repository; 404 for a repository it cannot see
// and for a login that is no user; 401 without a token.
func TestRepositoryPermission(t *testing.T) {
	s, base := NewServer(t, Options{})
	writeRepos(t, s, "org/a", "org/b", "other/c")
	install(t, s, Installation{ID: 7, Account: "org", AccountType: "Organization",
		Repos: []string{"org/a", "org/b"}, Users: []string{"member", "removed"}})
	if err := s.SetPermission("org/b", "member", PermNone); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPermission("org/a", "outside", PermWrite); err != nil {
		t.Fatal(err)
	}
	if err := s.SetInstallationUsers(7, []string{"member"}); err != nil {
		t.Fatal(err)
	}
	s.DeleteUser("gone")
	tok := "token " + mint(t, s, base, "7")
	tests := []struct {
		name, repo, login, auth string
		status                  int
		perm                    string
	}{
		{"member", "org/a", "member", tok, 200, PermRead},
		{"member not given b", "org/b", "member", tok, 200, PermNone},
		{"removed from the installation", "org/a", "removed", tok, 200, PermNone},
		{"outside collaborator", "org/a", "outside", tok, 200, PermWrite},
		{"owner account", "org/a", "ORG", tok, 200, PermAdmin},
		{"login that is no user", "org/a", "gone", tok, 404, ""},
		{"repository outside the installation", "other/c", "member", tok, 404, ""},
		{"no token", "org/a", "member", "", 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "GET", base+"/repos/"+tt.repo+"/collaborators/"+tt.login+"/permission", tt.auth, nil)
			if a.status != tt.status {
				t.Fatalf("GET permission of %s on %s = %d %s, want %d", tt.login, tt.repo, a.status, a.body, tt.status)
			}
			if tt.status != http.StatusOK {
				if a.message(t) == "" {
					t.Errorf("error answer %s has no message", a.body)
				}
				return
			}
			var got struct {
				Permission string `json:"permission"`
				User       struct {
					Login       string          `json:"login"`
					ID          int64           `json:"id"`
					Type        string          `json:"type"`
					Permissions map[string]bool `json:"permissions"`
				} `json:"user"`
			}
			a.json(t, &got)
			var raw map[string]any
			a.json(t, &raw)
			if _, ok := raw["role_name"].(string); !ok {
				t.Errorf("answer %s lacks role_name (a string)", a.body)
			}
			if got.Permission != tt.perm || !strings.EqualFold(got.User.Login, tt.login) || got.User.ID == 0 || got.User.Type != "User" ||
				got.User.Permissions["pull"] != (tt.perm != PermNone) {
				t.Errorf("permission answer = %s, want permission %s for user %s with an id", a.body, tt.perm, tt.login)
			}
		})
	}
}

// TestRepositoryInstallation: GET /repos/{owner}/{repo}/installation (App JWT) names the
// installation covering the repository, the one on its owner's account first; 404 for a
// repository no installation covers or that does not exist; 401 without the App JWT.
func TestRepositoryInstallation(t *testing.T) {
	s, base := NewServer(t, Options{})
	writeRepos(t, s, "org/a", "org/b")
	install(t, s, Installation{ID: 7, Account: "org", AccountType: "Organization", Repos: []string{"org/a"}})
	// Installation 1 (the sandbox user's) covers everything; only org/b has no other.
	s.RemoveInstallation(1)
	jwt := goodJWT(t, s, s.now())
	tests := []struct {
		repo, auth string
		status     int
		id         int64
	}{
		{"org/a", jwt, 200, 7},
		{"ORG/A", jwt, 200, 7},
		{"org/b", jwt, 404, 0},
		{"org/missing", jwt, 404, 0},
		{"org/a", "", 401, 0},
		{"org/a", "token " + mint(t, s, base, "7"), 401, 0},
	}
	for _, tt := range tests {
		a := do(t, "GET", base+"/repos/"+tt.repo+"/installation", tt.auth, nil)
		if a.status != tt.status {
			t.Errorf("GET /repos/%s/installation = %d %s, want %d", tt.repo, a.status, a.body, tt.status)
			continue
		}
		if tt.status != http.StatusOK {
			continue
		}
		var in struct {
			ID      int64 `json:"id"`
			Account struct {
				Login string `json:"login"`
			} `json:"account"`
			RepositorySelection string `json:"repository_selection"`
			AppID               int64  `json:"app_id"`
		}
		a.json(t, &in)
		if in.ID != tt.id || in.Account.Login != "org" || in.RepositorySelection != "selected" || in.AppID != s.AppID() {
			t.Errorf("GET /repos/%s/installation = %s, want installation %d of org", tt.repo, a.body, tt.id)
		}
	}
}

// TestUserInstallationRepositoriesFollowPermissions: a user's view of an installation
// lists only the repositories the user may read.
func TestUserInstallationRepositoriesFollowPermissions(t *testing.T) {
	s, base := NewServer(t, Options{})
	writeRepos(t, s, "org/a", "org/b")
	install(t, s, Installation{ID: 7, Account: "org", AccountType: "Organization", Repos: []string{"org/a", "org/b"}, Users: []string{"member"}})
	if err := s.SetPermission("org/b", "member", PermNone); err != nil {
		t.Fatal(err)
	}
	a := do(t, "GET", base+"/user/installations/7/repositories", "token "+s.IssueUserToken("member"), nil)
	var page repoPage
	a.json(t, &page)
	if a.status != http.StatusOK || page.TotalCount != 1 || !slices.Equal(page.names(), []string{"org/a"}) {
		t.Errorf("GET /user/installations/7/repositories as member = %d %s, want only org/a", a.status, a.body)
	}
}
