package ghsandbox

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAccessTokenScopeIsNeverWidened: a token request may narrow the token to some of the
// installation's repositories (by name or id) and permissions; anything the installation
// does not cover is refused whole with GitHub's 422, as GitHub refuses it.
func TestAccessTokenScopeIsNeverWidened(t *testing.T) {
	s, base := NewServer(t, Options{})
	writeRepos(t, s, "acme/one", "acme/two", "bob/other")
	install(t, s, Installation{ID: 5, Account: "acme", AccountType: "Organization", Repos: []string{"acme/one"}})
	id := func(full string) int64 { return stableID("repo", full) }
	tests := []struct {
		name, inst, body string
		want             int
		wantMessage      string
	}{
		{"no body", "5", "", 201, ""},
		{"covered name", "5", `{"repositories":["one"]}`, 201, ""},
		{"covered id", "5", fmt.Sprintf(`{"repository_ids":[%d]}`, id("acme/one")), 201, ""},
		{"narrower permissions", "5", `{"permissions":{"contents":"read","metadata":"read"}}`, 201, ""},
		{"name not covered", "5", `{"repositories":["two"]}`, 422, msgReposNotAccessible},
		{"name of another account", "5", `{"repositories":["other"]}`, 422, msgReposNotAccessible},
		{"missing name", "5", `{"repositories":["nope"]}`, 422, msgReposNotAccessible},
		{"id not covered", "5", fmt.Sprintf(`{"repository_ids":[%d]}`, id("acme/two")), 422, msgReposNotAccessible},
		{"covered and uncovered", "5", fmt.Sprintf(`{"repositories":["one"],"repository_ids":[%d]}`, id("acme/two")), 422, msgReposNotAccessible},
		{"permission the installation lacks", "5", `{"permissions":{"administration":"read"}}`, 422, msgPermsNotGranted},
		{"write where it has read", "5", `{"permissions":{"contents":"write"}}`, 422, msgPermsNotGranted},
		{"unknown level", "5", `{"permissions":{"contents":"admin"}}`, 422, msgPermsNotGranted},
		{"too many repositories", "1", `{"repositories":[` + strings.TrimSuffix(strings.Repeat(`"one",`, maxTokenRepos+1), ",") + `]}`, 422, ""},
		{"unknown installation", "77", "", 404, "Not Found"},
		{"not JSON", "5", `{`, 400, "Problems parsing JSON"},
		{"repositories not a list", "5", `{"repositories":"one"}`, 422, ""},
		{"repository id not a number", "5", `{"repository_ids":["x"]}`, 422, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "POST", base+"/app/installations/"+tt.inst+"/access_tokens", goodJWT(t, s, s.now()), strings.NewReader(tt.body))
			if a.status != tt.want {
				t.Fatalf("mint %s = %d %s, want %d", tt.body, a.status, a.body, tt.want)
			}
			if tt.want == 422 && tt.wantMessage == "" && !strings.HasPrefix(a.message(t), "Invalid request.") && !strings.HasPrefix(a.message(t), "Too many") {
				t.Errorf("mint %s message = %q, want GitHub's Invalid request", tt.body, a.message(t))
			}
			if tt.wantMessage != "" && a.message(t) != tt.wantMessage {
				t.Errorf("mint %s message = %q, want %q", tt.body, a.message(t), tt.wantMessage)
			}
		})
	}
}

// TestNarrowedTokenIsHeldToItsScope: a token narrowed to repositories sees only those; one
// narrowed to metadata cannot read files (403 "Resource not accessible by integration").
func TestNarrowedTokenIsHeldToItsScope(t *testing.T) {
	s, base := NewServer(t, Options{})
	writeRepos(t, s, "sandbox-user/one", "sandbox-user/two")
	mintWith := func(body string) (string, answer) {
		a := do(t, "POST", base+"/app/installations/1/access_tokens", goodJWT(t, s, s.now()), strings.NewReader(body))
		if a.status != http.StatusCreated {
			t.Fatalf("mint %s = %d %s, want 201", body, a.status, a.body)
		}
		var tok struct {
			Token string `json:"token"`
		}
		a.json(t, &tok)
		return "token " + tok.Token, a
	}
	byID, a := mintWith(fmt.Sprintf(`{"repository_ids":[%d]}`, stableID("repo", "sandbox-user/two")))
	var minted struct {
		RepositorySelection string `json:"repository_selection"`
		Repositories        []struct {
			FullName string `json:"full_name"`
		} `json:"repositories"`
	}
	a.json(t, &minted)
	if minted.RepositorySelection != "selected" || len(minted.Repositories) != 1 || minted.Repositories[0].FullName != "sandbox-user/two" {
		t.Errorf("token by id = %s, want selected with sandbox-user/two", a.body)
	}
	metaOnly, a := mintWith(`{"permissions":{"metadata":"read"}}`)
	var perms struct {
		Permissions map[string]string `json:"permissions"`
	}
	a.json(t, &perms)
	if len(perms.Permissions) != 1 || perms.Permissions["metadata"] != "read" {
		t.Errorf("metadata-only token permissions = %v, want metadata:read only", perms.Permissions)
	}
	tests := []struct {
		name, auth, path string
		want             int
	}{
		{"by id: its repository", byID, "/repos/sandbox-user/two/contents/README.md", 200},
		{"by id: another repository", byID, "/repos/sandbox-user/one", 404},
		{"metadata: repository", metaOnly, "/repos/sandbox-user/one", 200},
		{"metadata: file", metaOnly, "/repos/sandbox-user/one/contents/README.md", 403},
		{"metadata: tree", metaOnly, "/repos/sandbox-user/one/git/trees/main", 403},
		{"metadata: commit", metaOnly, "/repos/sandbox-user/one/commits/heads/main", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "GET", base+tt.path, tt.auth, nil)
			if a.status != tt.want {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, a.status, a.body, tt.want)
			}
			if tt.want == 403 && a.message(t) != "Resource not accessible by integration" {
				t.Errorf("GET %s message = %q, want Resource not accessible by integration", tt.path, a.message(t))
			}
		})
	}
}

// TestAccessTokenBadJWT: a token request without a valid App JWT is GitHub's 401 with
// its message and documentation_url, and mints nothing.
func TestAccessTokenBadJWT(t *testing.T) {
	s, base := NewServer(t, Options{})
	tests := []struct{ name, auth, wantMessage string }{
		{"garbage", "Bearer not.a.jwt", "A JSON web token could not be decoded"},
		{"installation token scheme", "token ghs_x", "A JSON web token could not be decoded"},
		{"none", "", "A JSON web token could not be decoded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, "POST", base+"/app/installations/1/access_tokens", tt.auth, nil)
			var e struct {
				Message          string `json:"message"`
				DocumentationURL string `json:"documentation_url"`
				Status           string `json:"status"`
			}
			a.json(t, &e)
			if a.status != http.StatusUnauthorized || e.Message != tt.wantMessage || e.DocumentationURL != docsURL || e.Status != "401" {
				t.Errorf("mint with %q = %d %s, want 401 %q with documentation_url and status", tt.auth, a.status, a.body, tt.wantMessage)
			}
		})
	}
	if n := s.TokensMinted(1); n != 0 {
		t.Errorf("TokensMinted(1) = %d after refused requests, want 0", n)
	}
}
