package processor

import (
	"slices"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/store"
)

// TestReadsOnlyWhatChanged: a push reads again only the plan and manifests whose blob SHA
// the last snapshot did not parse, and the snapshot is the same as a full read would
// give: a changed manifest's new dependencies, the unchanged ones' kept, a manifest read
// through a symlink read again (its link's blob says nothing of the target), and
// everything read again after a parser version change.
func TestReadsOnlyWhatChanged(t *testing.T) {
	e, sb := sandboxEnv(t)
	write := sandboxWriter(t, e, sb)
	write("docs/plan.md", planV1)
	write("go.mod", goMod)
	write("services/web/package.json", packageJSON)
	write("common/package.json", `{"dependencies": {"lodash": "4.17.21"}}`)
	if err := sb.Symlink(e.owner, e.name, "app/package.json", "../common/package.json"); err != nil {
		t.Fatal(err)
	}
	pr := e.addProject(nil)
	first, err := e.p.SyncProject(e.ctx, pr, "api-1")
	if err != nil {
		t.Fatalf("SyncProject() error = %v", err)
	}
	s := first.LatestSnapshot
	if s.PlanSHA == "" || s.ReadVersion != parseVersion || len(s.ManifestSHAs) != 3 || s.ManifestSHAs["app/package.json"] != "" {
		t.Fatalf("snapshot SHAs = plan %q, manifests %v, version %d; want the plan's, the three files' (not the symlink's) and %d",
			s.PlanSHA, s.ManifestSHAs, s.ReadVersion, parseVersion)
	}

	contents := func(path string) int {
		return sb.CountCalls("GET", "/repos/"+e.owner+"/"+e.name+"/contents/"+path)
	}
	version := func(name string) string {
		for _, d := range e.project(pr.ID).LatestSnapshot.Deps {
			if d.Name == name {
				return d.Manifest + " " + d.Version
			}
		}
		return ""
	}
	sb.ResetCalls()
	write("go.mod", goMod+"require example.com/new v1.2.3\n")
	write("common/package.json", `{"dependencies": {"lodash": "4.17.22"}}`)
	e.mustHandle(e.push("main", "go.mod", "common/package.json").msg())

	reads := map[string]int{}
	for _, p := range []string{"docs/plan.md", "go.mod", "services/web/package.json", "common/package.json", "app/package.json"} {
		reads[p] = contents(p)
	}
	want := map[string]int{"docs/plan.md": 0, "go.mod": 1, "services/web/package.json": 0, "common/package.json": 1, "app/package.json": 1}
	for p, n := range want {
		if reads[p] != n {
			t.Errorf("contents reads of %s = %d, want %d (reads %v)", p, reads[p], n, reads)
		}
	}
	got := e.project(pr.ID).LatestSnapshot
	if got.TasksTotal != 4 || got.TasksDone != 1 || len(got.Sections) != len(s.Sections) {
		t.Errorf("plan taken from the last snapshot: %d/%d, %d sections; want 1/4, %d", got.TasksDone, got.TasksTotal, len(got.Sections), len(s.Sections))
	}
	for name, w := range map[string]string{
		"example.com/new":        "go.mod v1.2.3",
		"github.com/google/uuid": "go.mod v1.6.0",
		"react":                  "services/web/package.json ^18.2.0",
	} {
		if v := version(name); v != w {
			t.Errorf("dependency %s = %q, want %q", name, v, w)
		}
	}
	for _, d := range got.Deps {
		if d.Name == "lodash" && d.Version != "4.17.22" {
			t.Errorf("lodash of %s = %s, want 4.17.22 (the symlink's target changed)", d.Manifest, d.Version)
		}
	}
	if n := len(got.Deps); n != len(s.Deps)+1 {
		t.Errorf("%d dependencies, want %d (one added)", n, len(s.Deps)+1)
	}
	if !slices.Equal(got.Manifests, s.Manifests) {
		t.Errorf("manifests = %v, want %v", got.Manifests, s.Manifests)
	}

	t.Run("parser version changed", func(t *testing.T) {
		if _, _, err := e.st.MutateProject(e.ctx, pr.ID, func(p *store.Project) (bool, error) {
			p.LatestSnapshot.ReadVersion = parseVersion - 1
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		sb.ResetCalls()
		write("docs/plan.md", planV2)
		e.mustHandle(e.push("main", "docs/plan.md").msg())
		if n := sb.CountCalls("GET", "/repos/"+e.owner+"/"+e.name+"/contents/**"); n != 5 {
			t.Errorf("contents reads after a parser version change = %d, want 5 (the plan and every manifest)", n)
		}
	})
}

// TestReuseOnlyWhatTheSnapshotHoldsWhole: a file is taken from the last snapshot only
// when the snapshot holds all it gave: same path and blob SHA, this parser version, and
// nothing cut by Fit.
func TestReuseOnlyWhatTheSnapshotHoldsWhole(t *testing.T) {
	base := func() *store.Snapshot {
		return &store.Snapshot{
			ReadVersion: parseVersion, PlanPath: "docs/plan.md", PlanFound: true, PlanSHA: "p1", TasksTotal: 2, TasksDone: 1,
			Sections:     []store.Section{{Title: "A", TasksTotal: 2, TasksDone: 1}},
			ManifestSHAs: map[string]string{"go.mod": "m1"},
			Deps:         []store.Dependency{{Name: "x", Version: "v1", Ecosystem: "Go modules", Manifest: "go.mod"}, {Name: "y", Manifest: "other"}},
		}
	}
	tests := []struct {
		name            string
		mod             func(*store.Snapshot)
		planSHA, depSHA string
		plan, deps      bool
	}{
		{"same blobs", nil, "p1", "m1", true, true},
		{"changed blobs", nil, "p2", "m2", false, false},
		{"no SHA (symlink, no listing)", nil, "", "", false, false},
		{"older parser", func(s *store.Snapshot) { s.ReadVersion = parseVersion - 1 }, "p1", "m1", false, false},
		{"sections cut", func(s *store.Snapshot) { s.SectionsTotal = 900 }, "p1", "m1", false, true},
		{"dependencies cut", func(s *store.Snapshot) { s.DepsTotal = 2000 }, "p1", "m1", true, false},
		{"a name maybe cut", func(s *store.Snapshot) { s.Deps[0].Name = strings.Repeat("n", store.MaxDependencyNameBytes) }, "p1", "m1", true, false},
		{"another plan path", func(s *store.Snapshot) { s.PlanPath = "PLAN.md" }, "p1", "m1", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			if tt.mod != nil {
				tt.mod(s)
			}
			prev := reusable(s)
			pl, okPlan := reusedPlan(prev, "docs/plan.md", tt.planSHA)
			deps, okDeps := reusedDeps(prev, "go.mod", tt.depSHA)
			if okPlan != tt.plan || okDeps != tt.deps {
				t.Fatalf("reused plan, deps = %v, %v; want %v, %v", okPlan, okDeps, tt.plan, tt.deps)
			}
			if okPlan && (pl.TasksTotal != 2 || pl.TasksDone != 1 || len(pl.Sections) != 1) {
				t.Errorf("reusedPlan() = %+v, want the snapshot's 1/2 and its section", pl)
			}
			if okDeps && (len(deps) != 1 || deps[0].Name != "x" || deps[0].Manifest != "go.mod") {
				t.Errorf("reusedDeps() = %+v, want go.mod's x only", deps)
			}
		})
	}
}
