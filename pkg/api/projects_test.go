package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/store"
)

// TestProjectHappyPath: installation linked, project registered on an accessible
// repository, read once, visible with its snapshot, history and pages.
func TestProjectHappyPath(t *testing.T) {
	e := newEnv(t)
	e.install(alice, aliceGH, 1)

	a := e.createProject(alice, map[string]string{"repo": "https://github.com/Alice-GH/alpha.git", "issue_label": "roadmap"})
	if a.status != http.StatusCreated {
		t.Fatalf("POST /projects = %d %s, want 201", a.status, a.body)
	}
	id := a.str("id")
	if !projectIDPattern.MatchString(id) || a.str("repo") != alphaRepo || a.str("plan_path") != DefaultPlanPath ||
		a.str("owner") != alice || a.json["installation_id"] != float64(1) || a.str("issue_label") != "roadmap" {
		t.Fatalf("POST /projects = %s, want alice's alice-gh/alpha on installation 1 with the default plan path", a.body)
	}
	if a.str("status") != store.ProjectActive || a.json["latest_snapshot"] == nil {
		t.Fatalf("POST /projects = %s, want an active project with a first snapshot", a.body)
	}

	got := e.do(call{method: http.MethodGet, path: "/projects/" + id, user: alice})
	if got.status != http.StatusOK {
		t.Fatalf("GET /projects/%s = %d %s, want 200", id, got.status, got.body)
	}
	snap, _ := got.json["latest_snapshot"].(map[string]any)
	sha, _, _ := e.sb.Head("alice-gh", "alpha")
	if snap["commit_sha"] != sha || snap["tasks_total"] != float64(3) || snap["tasks_done"] != float64(2) ||
		fmt.Sprintf("%.4f", snap["progress"]) != "0.6667" {
		t.Errorf("latest_snapshot = %v, want commit %s with 2 of 3 tasks done", snap, sha)
	}
	if sections, _ := snap["sections"].([]any); len(sections) < 2 {
		t.Errorf("latest_snapshot.sections = %v, want the plan's sections", snap["sections"])
	}
	if deps, _ := snap["dependencies"].([]any); len(deps) != 1 || deps[0].(map[string]any)["name"] != "github.com/google/go-github/v60" {
		t.Errorf("latest_snapshot.dependencies = %v, want go-github from go.mod", snap["dependencies"])
	}
	for _, key := range []string{"status", "last_updated", "progress", "pull_request_summary", "issues", "pull_requests", "issue_tasks"} {
		if _, ok := got.json[key]; !ok {
			t.Errorf("GET /projects/%s lacks %q: %s", id, key, got.body)
		}
	}
	if prs, _ := got.json["pull_request_summary"].(map[string]any); prs["total"] != float64(0) || prs["open"] != float64(0) {
		t.Errorf("pull_request_summary = %v, want zero counts with a total", prs)
	}

	list := e.do(call{method: http.MethodGet, path: pathProjects, user: alice})
	if ps, _ := list.json["projects"].([]any); list.status != http.StatusOK || len(ps) != 1 || ps[0].(map[string]any)["id"] != id {
		t.Errorf("GET /projects = %d %s, want alice's one project", list.status, list.body)
	}
	ups := e.do(call{method: http.MethodGet, path: "/projects/" + id + "/updates", user: alice})
	if u, _ := ups.json["updates"].([]any); ups.status != http.StatusOK || len(u) != 1 || u[0].(map[string]any)["event_type"] != "registration" {
		t.Errorf("GET updates = %d %s, want the registration entry", ups.status, ups.body)
	}
	snaps := e.do(call{method: http.MethodGet, path: "/projects/" + id + "/snapshots", user: alice})
	if s, _ := snaps.json["snapshots"].([]any); snaps.status != http.StatusOK || len(s) != 1 || snaps.str("next_cursor") != "" {
		t.Errorf("GET snapshots = %d %s, want the one snapshot and no cursor", snaps.status, snaps.body)
	}

	// Same repository again: a conflict naming the existing project.
	dup := e.createProject(alice, map[string]string{"repo": "alice-gh/alpha", "plan_path": "PLAN.md"})
	if dup.status != http.StatusConflict || !strings.Contains(dup.str("error"), id) {
		t.Errorf("POST /projects (duplicate) = %d %s, want 409 naming %s", dup.status, dup.body, id)
	}

	del := e.do(call{method: http.MethodDelete, path: "/projects/" + id, user: alice})
	if del.status != http.StatusNoContent || del.body != "" {
		t.Errorf("DELETE /projects/%s = %d %q, want 204 without body", id, del.status, del.body)
	}
	if again := e.do(call{method: http.MethodGet, path: "/projects/" + id, user: alice}); again.status != http.StatusNotFound {
		t.Errorf("GET after DELETE = %d, want 404", again.status)
	}
	if s, _, _ := e.store.ListSnapshots(context.Background(), id, 0, ""); len(s) != 0 {
		t.Errorf("snapshots after DELETE = %d, want the history purged", len(s))
	}
	// Registering again after the delete works.
	if re := e.createProject(alice, map[string]string{"repo": alphaRepo}); re.status != http.StatusCreated {
		t.Errorf("POST /projects after DELETE = %d %s, want 201", re.status, re.body)
	}
}

// TestProjectAccessAcrossUsersAndInstallations: alice (installation 1) and bob
// (installation 2) each register only on their own installation's repository, and
// neither sees the other's projects.
func TestProjectAccessAcrossUsersAndInstallations(t *testing.T) {
	e := newEnv(t)
	e.install(alice, aliceGH, 1)
	e.install(bob, bobGH, 2)

	tests := []struct {
		user, repo string
		want       int
	}{
		{alice, alphaRepo, http.StatusCreated},
		{alice, betaRepo, http.StatusForbidden},
		{bob, betaRepo, http.StatusCreated},
		{bob, alphaRepo, http.StatusForbidden},
		{alice, "alice-gh/does-not-exist", http.StatusForbidden},
		{alice, "stranger/elsewhere", http.StatusForbidden},
	}
	ids := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.user+" "+tt.repo, func(t *testing.T) {
			a := e.createProject(tt.user, map[string]string{"repo": tt.repo})
			if a.status != tt.want {
				t.Fatalf("POST /projects %s as %s = %d %s, want %d", tt.repo, tt.user, a.status, a.body, tt.want)
			}
			if tt.want == http.StatusForbidden && a.str("error") != "none of your GitHub App installations can access this repository" {
				t.Errorf("refusal reason = %q", a.str("error"))
			}
			if tt.want == http.StatusCreated {
				ids[tt.user] = a.str("id")
			}
		})
	}
	aliceID, bobID := ids[alice], ids[bob]
	if aliceID == "" || bobID == "" {
		t.Fatalf("projects = %v, want one each", ids)
	}
	for _, c := range []struct {
		user, id string
	}{{alice, bobID}, {bob, aliceID}} {
		for _, path := range []string{"/projects/" + c.id, "/projects/" + c.id + "/snapshots", "/projects/" + c.id + "/updates"} {
			if a := e.do(call{method: http.MethodGet, path: path, user: c.user}); a.status != http.StatusNotFound || a.str("error") != "project not found" {
				t.Errorf("GET %s as %s = %d %s, want 404 project not found", path, c.user, a.status, a.body)
			}
		}
		if a := e.do(call{method: http.MethodDelete, path: "/projects/" + c.id, user: c.user}); a.status != http.StatusNotFound {
			t.Errorf("DELETE /projects/%s as %s = %d, want 404", c.id, c.user, a.status)
		}
	}
	for user, id := range ids {
		a := e.do(call{method: http.MethodGet, path: pathProjects, user: user})
		ps, _ := a.json["projects"].([]any)
		if len(ps) != 1 || ps[0].(map[string]any)["id"] != id {
			t.Errorf("GET /projects as %s = %s, want only %s", user, a.body, id)
		}
	}
	// The projects survived the other user's DELETE attempts.
	if a := e.do(call{method: http.MethodGet, path: "/projects/" + bobID, user: bob}); a.status != http.StatusOK {
		t.Errorf("GET own project as bob = %d, want 200", a.status)
	}
	// A third user with no installation can register nothing.
	if a := e.createProject("auth0|carol", map[string]string{"repo": alphaRepo}); a.status != http.StatusForbidden {
		t.Errorf("POST /projects as carol = %d, want 403", a.status)
	}
}

// TestProjectAllRepositoriesInstallation: an installation covering all of an account's
// repositories admits a repository created after the installation was stored.
func TestProjectAllRepositoriesInstallation(t *testing.T) {
	e := newEnv(t)
	if err := e.sb.AddInstallation(ghsandboxAll(aliceGH)); err != nil {
		t.Fatal(err)
	}
	e.install(alice, aliceGH, 1)
	if err := e.sb.WriteFile(aliceGH, "newer", "docs/plan.md", []byte(testPlan)); err != nil {
		t.Fatal(err)
	}
	in, err := e.store.GetInstallation(context.Background(), 1)
	if err != nil || in.RepositorySelection != "all" || slices.Contains(in.Repositories, aliceGH+"/newer") {
		t.Fatalf("stored installation = %+v, %v, want selection all without the newer repository", in, err)
	}
	if a := e.createProject(alice, map[string]string{"repo": aliceGH + "/newer"}); a.status != http.StatusCreated {
		t.Errorf("POST /projects (repo newer than the stored list) = %d %s, want 201", a.status, a.body)
	}
}

func TestProjectValidation(t *testing.T) {
	e := newEnv(t)
	e.install(alice, aliceGH, 1)
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		reason      string
	}{
		{"no repo", `{"plan_path":"docs/plan.md"}`, "", 400, "repo is required"},
		{"bad repo", `{"repo":"https://gitlab.com/a/b"}`, "", 400, "repo must be owner/name or a GitHub repository URL"},
		{"repo with path", `{"repo":"https://github.com/a/b/tree/main"}`, "", 400, "repo must be owner/name or a GitHub repository URL"},
		{"plan path traversal", `{"repo":"alice-gh/alpha","plan_path":"docs/../../etc/passwd"}`, "", 400, `plan_path must not contain ".."`},
		{"plan path absolute", `{"repo":"alice-gh/alpha","plan_path":"/docs/plan.md"}`, "", 400, "plan_path must be relative to the repository root (no leading slash)"},
		{"plan path empty segment", `{"repo":"alice-gh/alpha","plan_path":"docs//plan.md"}`, "", 400, `plan_path must not contain empty or "." segments`},
		{"plan path directory", `{"repo":"alice-gh/alpha","plan_path":"docs/"}`, "", 400, "plan_path must name a file, not a directory"},
		{"plan path backslash", `{"repo":"alice-gh/alpha","plan_path":"docs\\plan.md"}`, "", 400, "plan_path must use forward slashes"},
		{"branch", `{"repo":"alice-gh/alpha","branch":"feature..x"}`, "", 400, "branch is not a valid git branch name"},
		{"branch with space", `{"repo":"alice-gh/alpha","branch":"my branch"}`, "", 400, "branch is not a valid git branch name"},
		{"label too long", `{"repo":"alice-gh/alpha","issue_label":"` + strings.Repeat("x", 101) + `"}`, "", 400, "issue_label is longer than 100 bytes"},
		{"unknown field", `{"repo":"alice-gh/alpha","plan":"x"}`, "", 400, "body must be a JSON object with repo and optionally plan_path, branch, issue_label, issue_milestone"},
		{"not json", `repo=alice-gh/alpha`, "", 400, "body must be a JSON object with repo and optionally plan_path, branch, issue_label, issue_milestone"},
		{"two objects", `{"repo":"alice-gh/alpha"}{}`, "", 400, "body must hold one JSON object"},
		{"duplicate keys that disagree", `{"repo":"alice-gh/alpha","plan_path":"../../etc/passwd","plan_path":"docs/plan.md"}`, "", 400, "body must be a JSON object with repo and optionally plan_path, branch, issue_label, issue_milestone"},
		{"invalid UTF-8", "{\"repo\":\"alice-gh/alpha\",\"issue_label\":\"a\xffb\"}", "", 400, "body must be a JSON object with repo and optionally plan_path, branch, issue_label, issue_milestone"},
		{"plan path NUL", `{"repo":"alice-gh/alpha","plan_path":"docs/plan.md\u0000.png"}`, "", 400, "plan_path must not contain control characters"},
		{"wrong content type", `{"repo":"alice-gh/alpha"}`, "text/plain", 415, "content type must be application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.contentType != "" {
				h["Content-Type"] = tt.contentType
			}
			a := e.do(call{method: http.MethodPost, path: pathProjects, user: alice, body: tt.body, headers: h})
			if a.status != tt.status || a.str("error") != tt.reason {
				t.Errorf("POST /projects %s = %d %s, want %d %q", tt.body, a.status, a.body, tt.status, tt.reason)
			}
		})
	}
	if ps, _, _ := e.store.ProjectsByOwner(context.Background(), alice, 0, ""); len(ps) != 0 {
		t.Errorf("projects after refusals = %d, want none", len(ps))
	}
	// A valid branch and plan path go through.
	a := e.createProject(alice, map[string]string{"repo": alphaRepo, "branch": "refs/heads/main", "plan_path": "docs/plan.md"})
	if a.status != http.StatusCreated || a.str("branch") != "main" {
		t.Errorf("POST /projects with branch = %d %s, want 201 on branch main", a.status, a.body)
	}
}

func TestProjectPagination(t *testing.T) {
	e := newEnv(t)
	e.install(alice, aliceGH, 1)
	created := e.createProject(alice, map[string]string{"repo": alphaRepo})
	id := created.str("id")
	if created.status != http.StatusCreated {
		t.Fatalf("POST /projects = %d %s", created.status, created.body)
	}
	// Five older snapshots and update log entries besides the first read's.
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5 {
		at := base.Add(time.Duration(i) * time.Hour)
		if _, err := e.store.PutSnapshot(context.Background(), store.Snapshot{ProjectID: id, CommitSHA: fmt.Sprintf("old%d", i), CommitAt: at}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.PutUpdate(context.Background(), store.Update{ProjectID: id, DeliveryID: fmt.Sprintf("d%d", i), EventType: "push", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []struct{ path, key, field string }{
		{"/projects/" + id + "/snapshots", "snapshots", "commit_sha"},
		{"/projects/" + id + "/updates", "updates", "delivery_id"},
	} {
		t.Run(kind.key, func(t *testing.T) {
			var pages [][]string
			cursor := ""
			for range 10 {
				q := url.Values{"limit": {"2"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				a := e.do(call{method: http.MethodGet, path: kind.path, user: alice, query: q})
				if a.status != http.StatusOK {
					t.Fatalf("GET %s?%s = %d %s", kind.path, q.Encode(), a.status, a.body)
				}
				var page []string
				items, _ := a.json[kind.key].([]any)
				for _, it := range items {
					page = append(page, fmt.Sprint(it.(map[string]any)[kind.field]))
				}
				pages = append(pages, page)
				if cursor = a.str("next_cursor"); cursor == "" {
					break
				}
			}
			if len(pages) != 3 || len(pages[0]) != 2 || len(pages[2]) != 2 {
				t.Fatalf("pages = %v, want 3 pages of 2", pages)
			}
			// Newest first: the first read's entry, then old4, old3, ...
			if last := pages[2]; !strings.HasSuffix(last[1], "0") || !strings.HasSuffix(pages[0][1], "4") {
				t.Errorf("pages = %v, want newest first", pages)
			}
		})
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=x", "cursor=%25%25", "cursor=e30"} {
		raw, _ := url.ParseQuery(q)
		a := e.do(call{method: http.MethodGet, path: "/projects/" + id + "/snapshots", user: alice, query: raw})
		if a.status != http.StatusBadRequest || a.str("error") == "" {
			t.Errorf("GET snapshots?%s = %d %s, want 400 with a reason", q, a.status, a.body)
		}
	}
	if a := e.do(call{method: http.MethodGet, path: pathProjects, user: alice, query: url.Values{"limit": {"1"}}}); a.status != http.StatusOK || a.str("next_cursor") != "" {
		t.Errorf("GET /projects?limit=1 = %d %s, want one page without cursor", a.status, a.body)
	}
}
