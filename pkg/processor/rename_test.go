package processor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// TestRenamedRepositoryKeepsProject: GitHub's pushes after a rename carry the new
// full_name and the same repository id. The project registered under the old name is
// found by the id, shows the new name and is read under it; a project registered
// before ids were stored is found by name and learns the id.
func TestRenamedRepositoryKeepsProject(t *testing.T) {
	e := newTestEnv(t)
	payload := loadPayload(t, "push", "with-new-branch.payload.json")
	repoID := testkit.Object(payload).Num("repository.id")
	if repoID == 0 {
		t.Fatal("the real push payload has no repository id")
	}
	e.repoID = repoID
	e.gh.commit(e.repo(), "main", e.clock.Now().Add(-time.Minute), map[string]string{"docs/plan.md": planV1})

	oldName := e.owner + "/" + uniq("old-name")
	renamed := e.addProject(func(p *store.Project) { p.Repo, p.RepoID = oldName, repoID })
	legacy := e.addProject(nil) // registered under the current name, without an id

	d := e.push("main", "docs/plan.md")
	if d.env.Repository.ID != repoID {
		t.Fatalf("envelope repository id = %d, want the payload's %d", d.env.Repository.ID, repoID)
	}
	e.mustHandle(d.msg())
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed {
		t.Fatalf("event = %s %q, want processed", ev.Status, ev.Reason)
	}
	for _, pr := range []store.Project{renamed, legacy} {
		got := e.project(pr.ID)
		if got.Repo != e.repoKey() || got.RepoID != repoID || got.Status != store.ProjectActive || got.LatestSnapshot == nil || got.LatestSnapshot.TasksDone != 1 {
			t.Errorf("project %s after the push = repo %s id %d status %s, want %s, %d, active with the plan read", pr.ID, got.Repo, got.RepoID, got.Status, e.repoKey(), repoID)
		}
	}
	if n := e.gh.calls[opHead]; n != 1 {
		t.Errorf("head reads = %d, want 1: both projects read under the new name", n)
	}

	// A later push of another repository that took the old name does not reach the project.
	e.repoID = repoID + 1
	other := e.onRepo(loadPayload(t, "push", "with-new-branch.payload.json"))
	set(other, "repository.full_name", oldName)
	set(other, "ref", "refs/heads/main")
	d2 := e.build("push", other)
	e.mustHandle(d2.msg())
	if ev := e.event(d2.env.DeliveryID); ev.Status != store.EventIgnored || !strings.Contains(ev.Reason, ReasonNoProject) {
		t.Errorf("push of another repository under the old name = %s %q, want ignored: %s", ev.Status, ev.Reason, ReasonNoProject)
	}
}

// TestRenameWithSandbox: the sandbox renames the repository (the old name answers 301);
// the next push, carrying the new name and the same id, keeps the project, which shows
// the new name and reads the new commit.
func TestRenameWithSandbox(t *testing.T) {
	e, sb := sandboxEnv(t)
	if err := sb.WriteFile(e.owner, e.name, "docs/plan.md", []byte(planV1)); err != nil {
		t.Fatal(err)
	}
	client := e.p.gh.(interface {
		Repository(ctx context.Context, inst int64, owner, repo string) (ghapp.Repository, error)
	})
	r, err := client.Repository(e.ctx, e.inst, e.owner, e.name)
	if err != nil {
		t.Fatal(err)
	}
	pr := e.addProject(func(p *store.Project) { p.RepoID = r.ID })
	if _, err := e.p.SyncProject(e.ctx, pr, "api-1"); err != nil {
		t.Fatal(err)
	}

	newName := uniq("renamed")
	if err := sb.RenameRepo(e.owner, e.name, newName); err != nil {
		t.Fatal(err)
	}
	e.name = newName
	if err := sb.WriteFile(e.owner, e.name, "docs/plan.md", []byte(planV2)); err != nil {
		t.Fatal(err)
	}
	e.repoID = r.ID
	m := e.onRepo(loadPayload(t, "push", "with-new-branch.payload.json"))
	set(m, "ref", "refs/heads/main")
	set(m, "repository.default_branch", "main")
	set(m, "created", false)
	c := m["commits"].([]any)[0].(map[string]any)
	c["added"], c["removed"], c["modified"] = []any{}, []any{}, []any{"docs/plan.md"}
	d := e.build("push", m)
	e.mustHandle(d.msg())
	got := e.project(pr.ID)
	head, _, _ := sb.Head(e.owner, e.name)
	if got.Repo != e.repoKey() || got.RepoID != r.ID || got.LatestSnapshot == nil || got.LatestSnapshot.CommitSHA != head || got.LatestSnapshot.TasksDone != 3 {
		t.Errorf("after the rename and push: repo %s id %d snapshot %+v; want %s, %d, 3 done at %s", got.Repo, got.RepoID, got.LatestSnapshot, e.repoKey(), r.ID, head)
	}
}
