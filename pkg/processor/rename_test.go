package processor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// TestRenamedRepositoryKeepsProject: GitHub's pushes after a rename carry the new
// full_name and the same repository id. The project registered under the old name is
// found by the id, shows the new name and is read under it.
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
	current := e.addProject(nil) // registered under the current name

	d := e.push("main", "docs/plan.md")
	if d.env.Repository.ID != repoID {
		t.Fatalf("envelope repository id = %d, want the payload's %d", d.env.Repository.ID, repoID)
	}
	e.mustHandle(d.msg())
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed {
		t.Fatalf("event = %s %q, want processed", ev.Status, ev.Reason)
	}
	for _, pr := range []store.Project{renamed, current} {
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
	e.mustHandle(e.push("main", "docs/plan.md").msg())
	got := e.project(pr.ID)
	head, _, _ := sb.Head(e.owner, e.name)
	if got.Repo != e.repoKey() || got.RepoID != r.ID || got.LatestSnapshot == nil || got.LatestSnapshot.CommitSHA != head || got.LatestSnapshot.TasksDone != 3 {
		t.Errorf("after the rename and push: repo %s id %d snapshot %+v; want %s, %d, 3 done at %s", got.Repo, got.RepoID, got.LatestSnapshot, e.repoKey(), r.ID, head)
	}
}

// TestBackfillWithSandbox: a project registered by name before ids were kept is not
// found by deliveries, which look projects up by the repository id; the backfill
// (pkg/local/cmd/backfill-repo-ids) gives it the id through the App client, following a rename
// since (the old name answers 301), and the next push updates it.
func TestBackfillWithSandbox(t *testing.T) {
	e, sb := sandboxEnv(t)
	client := e.p.gh.(*ghapp.Client)
	// Tables of its own: the backfill scans every project.
	e.tables = store.TablesFrom(standin.NewTables(t))
	e.st = store.New(standin.DynamoDB(t), e.tables).WithClock(e.clock.Now)
	e.p = e.newProcessor(e.st, client)
	write := sandboxWriter(t, e, sb)
	write("docs/plan.md", planV1)
	r, err := client.Repository(e.ctx, e.inst, e.owner, e.name)
	if err != nil {
		t.Fatal(err)
	}
	e.repoID = r.ID
	// As CreateProject stored projects before it kept the id.
	legacy := store.Project{ID: uniq("legacy"), Owner: uniq("user"), Repo: e.repoKey(), InstallationID: e.inst,
		PlanPath: "docs/plan.md", Status: store.ProjectPending, CreatedAt: e.clock.Now()}
	if err := e.db.Table(e.tables.Projects).Put(legacy).Run(e.ctx); err != nil {
		t.Fatal(err)
	}
	newName := uniq("renamed")
	if err := sb.RenameRepo(e.owner, e.name, newName); err != nil {
		t.Fatal(err)
	}
	e.name = newName
	write("docs/plan.md", planV2)
	push := func() delivery {
		d := e.push("main", "docs/plan.md")
		e.mustHandle(d.msg())
		return d
	}

	if ev := e.event(push().env.DeliveryID); ev.Status != store.EventIgnored || ev.Reason != ReasonNoProject {
		t.Errorf("push before the backfill = %s %q, want ignored: %s", ev.Status, ev.Reason, ReasonNoProject)
	}
	report, err := e.st.BackfillRepoIDs(e.ctx, func(ctx context.Context, inst int64, fullName string) (int64, error) {
		owner, name, _ := strings.Cut(fullName, "/")
		got, err := client.Repository(ctx, inst, owner, name)
		return got.ID, err
	})
	if err != nil || report.Updated != 1 || len(report.Unresolved) != 0 {
		t.Fatalf("BackfillRepoIDs() = %+v, %v; want the project updated", report, err)
	}
	if ev := e.event(push().env.DeliveryID); ev.Status != store.EventProcessed {
		t.Errorf("push after the backfill = %s %q, want processed", ev.Status, ev.Reason)
	}
	got := e.project(legacy.ID)
	if got.RepoID != r.ID || got.Repo != e.repoKey() || got.LatestSnapshot == nil || got.LatestSnapshot.TasksDone != 3 {
		t.Errorf("project after the backfill and a push = repo %s id %d snapshot %+v; want %s, %d, the new plan read", got.Repo, got.RepoID, got.LatestSnapshot, e.repoKey(), r.ID)
	}
}
