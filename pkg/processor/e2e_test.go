package processor

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/store"
)

// The production client lists files, so the processor searches every folder with it.
var _ FileLister = (*ghapp.Client)(nil)

// sandboxWriter writes files of the test's repository in the sandbox.
func sandboxWriter(t *testing.T, e *testEnv, sb *ghsandbox.Sandbox) func(path, content string) {
	return func(path, content string) {
		t.Helper()
		if err := sb.WriteFile(e.owner, e.name, path, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEndToEndWithSandbox(t *testing.T) {
	e, sb := sandboxEnv(t)
	write := sandboxWriter(t, e, sb)
	write("docs/plan.md", planV1)
	write("go.mod", goMod)
	write("services/web/package.json", packageJSON)
	write("services/web/README.md", "not a manifest")
	pr := e.addProject(nil)

	// Registration reads the project once, through the installation token.
	got, err := e.p.SyncProject(e.ctx, pr, "api-1")
	if err != nil {
		t.Fatalf("SyncProject() error = %v", err)
	}
	sha1, at1, err := sb.Head(e.owner, e.name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.ProjectActive || got.LatestSnapshot.CommitSHA != sha1 || !got.LatestSnapshot.CommitAt.Equal(at1) || got.LatestSnapshot.TasksDone != 1 {
		t.Fatalf("after registration: %q %+v, want active 1/4 at %s", got.Status, got.LatestSnapshot, sha1)
	}
	// The git trees listing finds the nested manifest no push has named.
	if want := []string{"go.mod", "services/web/package.json"}; !slices.Equal(got.LatestSnapshot.Manifests, want) || len(got.LatestSnapshot.Deps) != 3 {
		t.Errorf("manifests = %v, %d dependencies; want %v (every folder), 3", got.LatestSnapshot.Manifests, len(got.LatestSnapshot.Deps), want)
	}

	// A push changing the plan and adding a manifest in a nested folder that it does not
	// name (as a push's file list may omit it, e.g. when truncated).
	write("docs/plan.md", planV2)
	write("services/api/go.mod", "module example.com/api\n\ngo 1.22\n\nrequire github.com/stretchr/testify v1.9.0\n")
	sha2, at2, _ := sb.Head(e.owner, e.name)
	push := func(paths ...string) delivery {
		d := e.push("main", paths...)
		e.clock.Advance(time.Millisecond)
		return d
	}
	d := push("docs/plan.md")
	e.mustHandle(d.msg())
	got = e.project(pr.ID)
	if got.LatestSnapshot.CommitSHA != sha2 || got.LatestSnapshot.TasksDone != 3 || len(got.LatestSnapshot.Deps) != 4 {
		t.Fatalf("after push: %+v, want 3/4 with 4 dependencies at %s", got.LatestSnapshot, sha2)
	}
	if want := []string{"go.mod", "services/api/go.mod", "services/web/package.json"}; !slices.Equal(got.LatestSnapshot.Manifests, want) {
		t.Errorf("manifests after push = %v, want %v", got.LatestSnapshot.Manifests, want)
	}
	wantDep := store.Dependency{Name: "github.com/stretchr/testify", Version: "v1.9.0", Ecosystem: "Go modules", Manifest: "services/api/go.mod"}
	if !slices.Contains(got.LatestSnapshot.Deps, wantDep) {
		t.Errorf("dependencies = %+v, want %+v among them", got.LatestSnapshot.Deps, wantDep)
	}
	if n := sb.CountCalls("GET", "/repos/*/*/git/trees/**"); n != 2 {
		t.Errorf("git trees calls = %d, want 2 (one per commit read)", n)
	}
	// Every repository read carried a valid installation token; one token served all.
	for _, c := range sb.Calls() {
		if strings.HasPrefix(c.Path, "/repos/") && c.Credential != ghsandbox.CredInstallationToken {
			t.Errorf("%s %s sent %s, want an installation token", c.Method, c.Path, c.Credential)
		}
	}
	if n := sb.TokensMinted(1); n != 1 {
		t.Errorf("installation tokens minted = %d, want 1 reused", n)
	}

	// GitHub failing (502 past the client's own retries) fails the record; SQS's retry
	// then succeeds.
	write("docs/plan.md", planV1)
	sb.FailNext("GET", "/repos/*/*/commits/**", 3, 502)
	retry := push("docs/plan.md")
	m := retry.msg()
	e.mustFailLogged(retry, m, "502", "GitHub failed")
	e.clock.Advance(3 * time.Minute)
	e.mustHandle(m)
	sha3, at3, _ := sb.Head(e.owner, e.name)
	if got = e.project(pr.ID); got.LatestSnapshot.CommitSHA != sha3 {
		t.Fatalf("after retry: %s, want %s", got.LatestSnapshot.CommitSHA, sha3)
	}

	// A force push back to the older commit: the branch as read last is followed.
	if err := sb.SetCommit(e.owner, e.name, sha2, at2); err != nil {
		t.Fatal(err)
	}
	e.mustHandle(push("docs/plan.md").msg())
	if got = e.project(pr.ID); got.LatestSnapshot.CommitSHA != sha2 || !got.LatestSnapshot.CommitAt.Equal(at2) {
		t.Errorf("after a force push back to %s (from %s at %v): latest %s, want the older commit followed", sha2, sha3, at3, got.LatestSnapshot.CommitSHA)
	}

	// The plan removed: plan_missing, not a failure.
	if err := sb.RemoveFile(e.owner, e.name, "docs/plan.md"); err != nil {
		t.Fatal(err)
	}
	gone := push("docs/plan.md")
	e.mustHandle(gone.msg())
	if got = e.project(pr.ID); got.Status != store.ProjectPlanMissing || got.LatestSnapshot.PlanFound {
		t.Errorf("after removing the plan: %q, plan found %v, want plan_missing", got.Status, got.LatestSnapshot.PlanFound)
	}
	if n := len(e.snapshots(pr.ID)); n != 4 {
		t.Errorf("snapshots = %d, want 4 commits read (registration, push, retried push, removal)", n)
	}
	if n := len(e.updates(pr.ID)); n != 5 {
		t.Errorf("updates = %d, want 5 (registration and four pushes)", n)
	}
}

func TestEndToEndInstallationWithSandbox(t *testing.T) {
	e, sb := sandboxEnv(t)
	e.inst = 42
	if err := sb.WriteFile(e.owner, e.name, "docs/plan.md", []byte(planV1)); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddInstallation(ghsandbox.Installation{ID: 42, Account: e.owner, AccountType: "Organization", Repos: []string{e.repo()}}); err != nil {
		t.Fatal(err)
	}
	pr := e.addProject(nil)
	ie := &installEnv{testEnv: e}
	e.mustHandle(ie.instEvent("installation", "created.payload.json", e.repo()).msg())
	got := e.project(pr.ID)
	if got.Status != store.ProjectActive || got.LatestSnapshot == nil {
		t.Fatalf("after created: %q, want the pending project read (active)", got.Status)
	}
	in, err := e.st.GetInstallation(e.ctx, 42)
	if err != nil || in.Status != store.InstallationActive || !slices.Equal(in.Repositories, []string{e.repoKey()}) || in.AccountType != "Organization" {
		t.Errorf("installation = %+v, %v", in, err)
	}

	if err := sb.SetSuspended(42, true); err != nil {
		t.Fatal(err)
	}
	e.mustHandle(ie.instEvent("installation", "suspend.payload.json").msg())
	if got := e.project(pr.ID); got.Status != store.ProjectSuspended {
		t.Errorf("after suspend: %q, want suspended", got.Status)
	}
	if err := sb.SetSuspended(42, false); err != nil {
		t.Fatal(err)
	}
	e.mustHandle(ie.instEvent("installation", "unsuspend.payload.json").msg())
	if got := e.project(pr.ID); got.Status != store.ProjectActive {
		t.Errorf("after unsuspend: %q, want active", got.Status)
	}
	if err := sb.SetInstallationRepos(42, nil); err != nil {
		t.Fatal(err)
	}
	e.mustHandle(ie.instEvent("installation_repositories", "removed.payload.json", e.repo()).msg())
	if got := e.project(pr.ID); got.Status != store.ProjectAccessLost {
		t.Errorf("after removed: %q, want access_lost", got.Status)
	}
	sb.RemoveInstallation(42)
	e.mustHandle(ie.instEvent("installation", "deleted.payload.json").msg())
	if in, _ := e.st.GetInstallation(e.ctx, 42); in.Status != store.InstallationDeleted {
		t.Errorf("installation after deleted = %s", in.Status)
	}
}
