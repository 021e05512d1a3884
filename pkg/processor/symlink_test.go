package processor

import (
	"slices"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/store"
)

// TestSymlinkedPlanAndManifests: a plan or manifest that is a symlink to a file of the
// repository is read through it (GitHub follows such a symlink); a plan whose symlink
// leads anywhere else makes the project plan_missing with a status that says so.
func TestSymlinkedPlanAndManifests(t *testing.T) {
	e, sb := sandboxEnv(t)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sb.WriteFile(e.owner, e.name, "plans/roadmap.md", []byte(planV1)))
	must(sb.WriteFile(e.owner, e.name, "common/package.json", []byte(packageJSON)))
	must(sb.Symlink(e.owner, e.name, "docs/plan.md", "../plans/roadmap.md"))
	must(sb.Symlink(e.owner, e.name, "web/package.json", "../common/package.json"))
	pr := e.addProject(nil)

	got, err := e.p.SyncProject(e.ctx, pr, "api-1")
	if err != nil {
		t.Fatalf("SyncProject() error = %v", err)
	}
	if got.Status != store.ProjectActive || got.LatestSnapshot.TasksDone != 1 || got.LatestSnapshot.TasksTotal != 4 {
		t.Fatalf("symlinked plan: %q %+v, want active 1/4 read through the symlink", got.Status, got.LatestSnapshot)
	}
	if want := []string{"common/package.json", "web/package.json"}; !slices.Equal(got.LatestSnapshot.Manifests, want) {
		t.Errorf("manifests = %v, want %v (the symlinked one read through its link)", got.LatestSnapshot.Manifests, want)
	}

	targets := []string{"../plans", "roadmap-link.md", "../../elsewhere/plan.md"}
	must(sb.Symlink(e.owner, e.name, "docs/roadmap-link.md", "../plans/roadmap.md"))
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			must(sb.Symlink(e.owner, e.name, "docs/plan.md", target))
			e.mustHandle(e.push("main", "docs/plan.md").msg())
			got := e.project(pr.ID)
			if got.Status != store.ProjectPlanMissing || !strings.Contains(got.StatusError, "symlink") || got.LatestSnapshot.PlanFound {
				t.Errorf("plan symlinked to %s: %q %q, want plan_missing saying it is a symlink", target, got.Status, got.StatusError)
			}
		})
	}
}
