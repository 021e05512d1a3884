package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/store"
)

// TestInstallLinkStartedByAnotherUser is the borrowed-installation attack: mallory
// sends her install/start link to alice; alice installs the App on GitHub and her
// browser lands on the front end, which relays GitHub's redirect with alice's token.
// The callback refuses (the state is mallory's), links nothing to either, and mallory
// cannot register alice's repository afterwards.
func TestInstallLinkStartedByAnotherUser(t *testing.T) {
	const mallory = "auth0|mallory"
	e := newEnv(t)
	installURL, _ := e.startInstall(mallory)
	// alice's browser on GitHub's installation page (the sandbox signs her in as alice-gh).
	e.sb.SetSetupURL("https://app.example.test/github/installed")
	resp, err := noRedirect.Get(installURL)
	if err != nil {
		t.Fatalf("GET install page: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("install page = %d %q, want a redirect to the front end", resp.StatusCode, resp.Header.Get("Location"))
	}
	a := e.callback(alice, loc.Query(), nil)
	if a.status != http.StatusForbidden || a.str("error") != "this installation was started by another RepoTrackr user; start it again while signed in as yourself" {
		t.Fatalf("callback relayed for alice with mallory's state = %d %s, want 403", a.status, a.body)
	}
	// Without a token the callback is not reached at all.
	if a := e.do(call{method: http.MethodGet, path: pathInstall, query: loc.Query()}); a.status != http.StatusUnauthorized {
		t.Errorf("callback without a bearer token = %d %s, want 401", a.status, a.body)
	}
	for _, u := range []string{mallory, alice} {
		if links, err := e.store.UserInstallations(context.Background(), u); err != nil || len(links) != 0 {
			t.Errorf("UserInstallations(%s) = %v, %v, want none", u, links, err)
		}
	}
	if a := e.createProject(mallory, map[string]string{"repo": alphaRepo}); a.status != http.StatusForbidden {
		t.Errorf("POST /projects %s as mallory = %d %s, want 403", alphaRepo, a.status, a.body)
	}
	// alice's own flow still works, and records who she is on GitHub (login and id).
	e.install(alice, aliceGH, 1)
	if links, err := e.store.UserInstallations(context.Background(), alice); err != nil || len(links) != 1 ||
		links[0].GitHubLogin != aliceGH || links[0].GitHubUserID == 0 {
		t.Errorf("UserInstallations(alice) = %+v, %v, want one link with alice-gh's login and id", links, err)
	}
	if a := e.createProject(alice, map[string]string{"repo": alphaRepo}); a.status != http.StatusCreated {
		t.Errorf("POST /projects %s as alice = %d %s, want 201", alphaRepo, a.status, a.body)
	}
}

// Organization org-c's installation 3 covers org-c/open and org-c/secret; carol-gh and
// dave-gh are members.
const (
	carol    = "auth0|carol"
	dave     = "auth0|dave"
	carolGH  = "carol-gh"
	daveGH   = "dave-gh"
	openRepo = "org-c/open"
	secret   = "org-c/secret"
)

func withOrgC(t *testing.T, e *env) {
	t.Helper()
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 3, Account: "org-c", AccountType: "Organization",
		Repos: []string{openRepo, secret}, Users: []string{carolGH, daveGH}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{openRepo, secret} {
		if err := e.sb.WriteFile("org-c", r[len("org-c/"):], "docs/plan.md", []byte(testPlan)); err != nil {
			t.Fatal(err)
		}
	}
	e.install(carol, carolGH, 3)
	e.install(dave, daveGH, 3)
}

func (e *env) linked(user string, id int64) bool {
	e.t.Helper()
	links, err := e.store.UserInstallations(context.Background(), user)
	if err != nil {
		e.t.Fatalf("UserInstallations(%s) error = %v", user, err)
	}
	return slices.ContainsFunc(links, func(l store.UserInstallation) bool { return l.InstallationID == id })
}

// TestRegistrationAsksGitHubForTheUser: a link alone is not enough; every registration
// asks GitHub whether the linked GitHub user can read the repository now.
func TestRegistrationAsksGitHubForTheUser(t *testing.T) {
	t.Run("member who may read one repository and not another", func(t *testing.T) {
		e := newEnv(t)
		withOrgC(t, e)
		if err := e.sb.SetPermission(secret, daveGH, ghsandbox.PermNone); err != nil {
			t.Fatal(err)
		}
		if a := e.createProject(dave, map[string]string{"repo": secret}); a.status != http.StatusForbidden || a.str("error") != "your GitHub account cannot read this repository" {
			t.Errorf("POST /projects %s as dave = %d %s, want 403 (dave cannot read it)", secret, a.status, a.body)
		}
		if !e.linked(dave, 3) {
			t.Errorf("dave's link to installation 3 was removed; he can still read %s", openRepo)
		}
		if a := e.createProject(dave, map[string]string{"repo": openRepo}); a.status != http.StatusCreated {
			t.Errorf("POST /projects %s as dave = %d %s, want 201", openRepo, a.status, a.body)
		}
		if a := e.createProject(carol, map[string]string{"repo": secret}); a.status != http.StatusCreated {
			t.Errorf("POST /projects %s as carol = %d %s, want 201", secret, a.status, a.body)
		}
	})
	t.Run("user removed from the installation", func(t *testing.T) {
		e := newEnv(t)
		withOrgC(t, e)
		if a := e.createProject(carol, map[string]string{"repo": openRepo}); a.status != http.StatusCreated {
			t.Fatalf("POST /projects %s as carol before removal = %d %s, want 201", openRepo, a.status, a.body)
		}
		if err := e.sb.SetInstallationUsers(3, []string{daveGH}); err != nil {
			t.Fatal(err)
		}
		a := e.createProject(carol, map[string]string{"repo": secret})
		if a.status != http.StatusForbidden || a.str("error") != "your GitHub account cannot read this repository" {
			t.Errorf("POST /projects %s as removed carol = %d %s, want 403", secret, a.status, a.body)
		}
		if e.linked(carol, 3) {
			t.Errorf("carol's link to installation 3 kept after GitHub stopped confirming it")
		}
		if a := e.createProject(carol, map[string]string{"repo": secret}); a.status != http.StatusForbidden || a.str("error") != "none of your GitHub App installations can access this repository" {
			t.Errorf("POST /projects again = %d %s, want 403 with no installation", a.status, a.body)
		}
		if !e.linked(dave, 3) {
			t.Errorf("dave's link removed with carol's")
		}
	})
	// A link GitHub no longer confirms is refused and dropped. A login can pass to another
	// account after a rename: the recorded id tells.
	unconfirmed := []struct {
		name  string
		setup func(t *testing.T, e *env)
	}{
		{"GitHub login now another account's", func(t *testing.T, e *env) {
			linkUser(t, e, store.UserInstallation{UserID: carol, InstallationID: 3, GitHubLogin: carolGH, GitHubUserID: 424242})
		}},
		{"link without a GitHub login", func(t *testing.T, e *env) {
			linkUser(t, e, store.UserInstallation{UserID: carol, InstallationID: 3})
		}},
		{"GitHub login gone", func(t *testing.T, e *env) { e.sb.DeleteUser(carolGH) }},
	}
	for _, tt := range unconfirmed {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			withOrgC(t, e)
			tt.setup(t, e)
			if a := e.createProject(carol, map[string]string{"repo": openRepo}); a.status != http.StatusForbidden {
				t.Errorf("POST /projects as carol = %d %s, want 403", a.status, a.body)
			}
			if e.linked(carol, 3) {
				t.Errorf("carol's link to installation 3 kept, want it dropped")
			}
		})
	}
}

func linkUser(t *testing.T, e *env, link store.UserInstallation) {
	t.Helper()
	if _, err := e.store.LinkUserInstallation(context.Background(), link); err != nil {
		t.Fatal(err)
	}
}

// TestRegistrationRightAfterAccessGranted: a repository added to a linked installation
// on GitHub is registrable at once, before the installation_repositories delivery
// updates the stored list; GitHub is asked, and the stored list learns it.
func TestRegistrationRightAfterAccessGranted(t *testing.T) {
	e := newEnv(t)
	e.install(alice, aliceGH, 1)
	const gamma = "alice-gh/gamma"
	if err := e.sb.WriteFile(aliceGH, "gamma", "docs/plan.md", []byte(testPlan)); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.SetInstallationRepos(1, []string{alphaRepo, gamma}); err != nil {
		t.Fatal(err)
	}
	if a := e.createProject(alice, map[string]string{"repo": gamma}); a.status != http.StatusCreated {
		t.Fatalf("POST /projects %s right after it was added on GitHub = %d %s, want 201", gamma, a.status, a.body)
	}
	in, err := e.store.GetInstallation(context.Background(), 1)
	if err != nil || !slices.Contains(in.Repositories, gamma) || !slices.Contains(in.Repositories, alphaRepo) {
		t.Errorf("stored installation 1 = %+v, %v, want both repositories listed", in, err)
	}
	// A repository GitHub does not put under one of the caller's installations stays refused.
	if a := e.createProject(alice, map[string]string{"repo": betaRepo}); a.status != http.StatusForbidden {
		t.Errorf("POST /projects %s (another account's installation) = %d %s, want 403", betaRepo, a.status, a.body)
	}
}
