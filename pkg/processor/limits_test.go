package processor

import (
	"fmt"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/manifest"
	"github.com/repotrackr/github-integration/pkg/plan"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Memory and item size (issue 10, item 4): what a repository holds never makes an item
// DynamoDB refuses, a read the processor cannot afford, or a retry.

// manyHeadings is a plan of n headings, one task under the first.
func manyHeadings(n int) string {
	var b strings.Builder
	b.WriteString("# Phase 0\n- [x] first\n")
	for i := 1; i < n; i++ {
		fmt.Fprintf(&b, "# Phase %d\n", i)
	}
	return b.String()
}

// manyDependencies is a package.json of n dependencies.
func manyDependencies(n int) string {
	var b strings.Builder
	b.WriteString(`{"dependencies": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"dependency-number-%05d": "^1.%d.0"`, i, i)
	}
	b.WriteString("}}")
	return b.String()
}

func TestSnapshotFitsItemLimit(t *testing.T) {
	e := newTestEnvWith(t, func(f *fakeGitHub) GitHub { return listingGitHub{f} })
	pr := e.addProject(nil)
	headings, pkg := manyHeadings(58000), manyDependencies(8000)
	if len(headings) > plan.MaxSize || len(pkg) > manifest.MaxSize {
		t.Fatalf("fixtures of %d and %d bytes are over the read limits", len(headings), len(pkg))
	}
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": headings, "package.json": pkg, "go.mod": goMod})
	d := e.push("main", "docs/plan.md")
	e.mustHandle(d.msg())

	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed {
		t.Fatalf("event = %s %q, want processed", ev.Status, ev.Error)
	}
	got := e.project(pr.ID)
	s := got.LatestSnapshot
	if got.Status != store.ProjectActive || s == nil {
		t.Fatalf("project = %q %+v, want active with a snapshot", got.Status, s)
	}
	if !s.Truncated || s.SectionsTotal != 58000 || len(s.Sections) == 0 || len(s.Sections) >= 58000 {
		t.Errorf("sections: truncated %v, %d of %d kept; want truncated, some of 58000", s.Truncated, len(s.Sections), s.SectionsTotal)
	}
	if s.DepsTotal != 8001 || len(s.Deps) == 0 || len(s.Deps) >= 8001 {
		t.Errorf("dependencies: %d of %d kept; want some of 8001", len(s.Deps), s.DepsTotal)
	}
	if s.TasksTotal != 1 || s.TasksDone != 1 || s.Sections[0].Title != "Phase 0" {
		t.Errorf("plan totals %d/%d, first section %q; want the whole plan counted, sections in order", s.TasksDone, s.TasksTotal, s.Sections[0].Title)
	}
	snaps := e.snapshots(pr.ID)
	if len(snaps) != 1 || !snaps[0].Truncated || len(snaps[0].Sections) != len(s.Sections) {
		t.Errorf("snapshot items = %d, want 1, truncated as the project's", len(snaps))
	}
}

func TestManifestLimits(t *testing.T) {
	files := func() map[string]string {
		m := map[string]string{"docs/plan.md": planV1, "go.mod": goMod}
		for i := range 60 {
			m[fmt.Sprintf("svc%02d/package.json", i)] = packageJSON
		}
		m["a/package.json"] = strings.Repeat(" ", manifest.MaxSize+1) + packageJSON // too large
		m[strings.Repeat("d", maxManifestPath)+"/go.mod"] = goMod                   // path too long
		return m
	}
	t.Run("with a listing", func(t *testing.T) {
		e := newTestEnvWith(t, func(f *fakeGitHub) GitHub { return listingGitHub{f} })
		pr := e.addProject(nil)
		e.gh.commit(e.repo(), "main", t0, files())
		e.mustHandle(e.push("main", "go.mod").msg())
		s := e.project(pr.ID).LatestSnapshot
		if len(s.Manifests) != MaxManifests || s.Manifests[0] != "go.mod" || s.ManifestsSkipped != 63-MaxManifests || !s.Truncated {
			t.Errorf("manifests %d (first %q), skipped %d, truncated %v; want %d with the root go.mod first, %d skipped, truncated",
				len(s.Manifests), s.Manifests[0], s.ManifestsSkipped, s.Truncated, MaxManifests, 63-MaxManifests)
		}
		// The plan and 50 manifests; the large one's size came from the listing.
		if n := e.gh.callCount(opFile); n != 1+MaxManifests {
			t.Errorf("file reads = %d, want %d", n, 1+MaxManifests)
		}
	})
	t.Run("named by a push", func(t *testing.T) {
		e := newTestEnv(t)
		pr := e.addProject(nil)
		fs := files()
		var paths []string
		for i := range 400 {
			p := fmt.Sprintf("pkg%03d/go.mod", i)
			fs[p] = goMod
			paths = append(paths, p)
		}
		e.gh.commit(e.repo(), "main", t0, fs)
		e.mustHandle(e.push("main", paths...).msg())
		s := e.project(pr.ID).LatestSnapshot
		// Without a listing the candidates are the root names (6) and the 400 named.
		if n := e.gh.callCount(opFile); n != 1+MaxManifests {
			t.Errorf("file reads = %d, want %d (the plan and at most %d manifests)", n, 1+MaxManifests, MaxManifests)
		}
		if s.ManifestsSkipped != 406-MaxManifests || !s.Truncated {
			t.Errorf("skipped %d, truncated %v; want %d, truncated", s.ManifestsSkipped, s.Truncated, 406-MaxManifests)
		}
	})
}

func TestParseBudget(t *testing.T) {
	release, err := acquireParse(t.Context(), MaxManifestSize)
	if err != nil {
		t.Fatal(err)
	}
	// A largest plan waits for the manifest; a second manifest fits beside it.
	if parseSem.TryAcquire(MaxPlanSize) {
		parseSem.Release(MaxPlanSize)
		t.Errorf("TryAcquire(plan) = true while a manifest is parsed, want false")
	}
	if !parseSem.TryAcquire(MaxManifestSize) {
		t.Errorf("TryAcquire(manifest) = false beside one manifest, want true")
	} else {
		parseSem.Release(MaxManifestSize)
	}
	release()
	if !parseSem.TryAcquire(MaxPlanSize) {
		t.Fatalf("TryAcquire(plan) after release = false, want true")
	}
	parseSem.Release(MaxPlanSize)
}
