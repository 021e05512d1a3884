package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSnapshotFit(t *testing.T) {
	var s Snapshot
	for i := range 5000 {
		s.Sections = append(s.Sections, Section{Title: fmt.Sprintf("Section %d", i), Level: 2})
	}
	long := strings.Repeat("é", MaxDependencyNameBytes) // 2 bytes each: cut mid-way
	s.Deps = []Dependency{{Name: long, Version: strings.Repeat("1", 1000), Ecosystem: "npm", Manifest: "package.json"}}
	for i := range 5000 {
		s.Deps = append(s.Deps, Dependency{Name: fmt.Sprintf("dep-%d", i), Version: "1.0.0", Ecosystem: "npm", Manifest: "package.json"})
	}
	orig := s.Deps
	s.Fit()
	if !s.Truncated || s.SectionsTotal != 5000 || s.DepsTotal != 5001 {
		t.Fatalf("Fit() = truncated %v, totals %d/%d; want truncated, 5000 and 5001", s.Truncated, s.SectionsTotal, s.DepsTotal)
	}
	if len(s.Sections) == 0 || s.Sections[len(s.Sections)-1].Title != fmt.Sprintf("Section %d", len(s.Sections)-1) {
		t.Errorf("Fit() kept %d sections, want a leading run in order", len(s.Sections))
	}
	if d := s.Deps[0]; len(d.Name) > MaxDependencyNameBytes || !utf8.ValidString(d.Name) || len(d.Version) != MaxDependencyVersionBytes {
		t.Errorf("Fit() dependency 0 = %d-byte name (valid %v), %d-byte version; want cut on a character boundary", len(d.Name), utf8.ValidString(d.Name), len(d.Version))
	}
	if orig[0].Name != long {
		t.Errorf("Fit() changed the caller's dependency array")
	}
	sections, deps := 0, 0
	for _, x := range s.Sections {
		sections += sectionSize(x)
	}
	for _, x := range s.Deps {
		deps += dependencySize(x)
	}
	if sections > MaxSectionBytes || deps > MaxDependencyBytes {
		t.Errorf("Fit() left %d section bytes and %d dependency bytes, want at most %d and %d", sections, deps, MaxSectionBytes, MaxDependencyBytes)
	}
	again := s
	again.Fit()
	if len(again.Sections) != len(s.Sections) || len(again.Deps) != len(s.Deps) || again.SectionsTotal != 5000 || again.DepsTotal != 5001 {
		t.Errorf("Fit() twice changed the snapshot: %d/%d sections, %d/%d deps", len(again.Sections), again.SectionsTotal, len(again.Deps), again.DepsTotal)
	}

	small := Snapshot{Sections: []Section{{Title: "a"}}, Deps: []Dependency{{Name: "x"}}}
	small.Fit()
	if small.Truncated || small.SectionsTotal != 0 || small.DepsTotal != 0 {
		t.Errorf("Fit(small) = %+v, want unchanged", small)
	}
}

// TestPutSnapshotFitsItem writes the largest snapshot Fit allows, with the longest
// titles and names, and the project carrying it, to dynalite (which enforces the
// 400 KB item limit as DynamoDB does).
func TestPutSnapshotFitsItem(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	snap := procSnap(time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC), "abc123", true, 1, 1)
	snap.ProjectID = procID("p")
	for i := range 10000 {
		snap.Sections = append(snap.Sections, Section{Title: strings.Repeat("t", 256), Level: 6, TasksTotal: 1 << 30, TasksDone: i, Progress: 1.0 / 3})
		snap.Deps = append(snap.Deps, Dependency{Name: strings.Repeat("n", 300), Version: strings.Repeat("v", 300), Ecosystem: "crates.io", Manifest: strings.Repeat("m", 250) + "/Cargo.toml"})
	}
	if _, err := s.PutSnapshot(ctx, snap); err != nil {
		t.Fatalf("PutSnapshot(largest) error = %v", err)
	}
	procPutProject(t, s, Project{ID: snap.ProjectID, Repo: "o/r"})
	if _, _, err := s.ApplySnapshot(ctx, snap.ProjectID, snap, ""); err != nil {
		t.Fatalf("ApplySnapshot(largest) error = %v", err)
	}
}
