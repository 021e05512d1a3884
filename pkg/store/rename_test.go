package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func projectIDs(ps []Project) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.ID)
	}
	return out
}

// TestProjectsOfRepo: a delivery finds the projects registered with its repository id
// under any name, in one query; a project with another id under the same name tracks
// another repository (one renamed away from this name); a project without an id (one
// registered before ids were kept, until BackfillRepoIDs) is found by name alone.
func TestProjectsOfRepo(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := rand.Int64N(1<<40) + 1
	oldName, newName := procID("octo")+"/old", procID("octo")+"/new"
	byID := procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: oldName, RepoID: id})
	legacy := procPutProject(t, s, Project{ID: procID("p"), Owner: "u2", Repo: newName})
	other := procPutProject(t, s, Project{ID: procID("p"), Owner: "u3", Repo: newName, RepoID: id + 1})

	tests := []struct {
		name string
		id   int64
		full string
		want []string
	}{
		{"renamed: by the id", id, strings.ToUpper(newName), []string{byID.ID}},
		{"old name with the id", id, oldName, []string{byID.ID}},
		{"name only", 0, newName, []string{legacy.ID, other.ID}},
		{"the other repository", id + 1, newName, []string{other.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ProjectsOfRepo(ctx, tt.id, tt.full)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if err != nil || !slices.Equal(projectIDs(got), want) {
				t.Errorf("ProjectsOfRepo(%d, %s) = %v, %v; want %v", tt.id, tt.full, projectIDs(got), err, want)
			}
		})
	}
}

// TestBackfillRepoIDs: projects registered before ids were kept get their repository's
// id as GitHub names it (after a rename too), and its guard; deliveries then find them
// by the id. Projects that have one, guards, and a repository GitHub does not know are
// left as they are; a second run changes nothing.
func TestBackfillRepoIDs(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	const renamedID = 77
	github := map[string]int64{"octo/one": 11, "octo/old-name": renamedID} // the old name answers for the renamed repository
	lookup := func(_ context.Context, inst int64, full string) (int64, error) {
		if inst != 1 {
			return 0, fmt.Errorf("installation %d: %w", inst, ErrNotFound)
		}
		if id, ok := github[full]; ok {
			return id, nil
		}
		return 0, fmt.Errorf("repository %s: %w", full, ErrNotFound)
	}
	one := procPutProject(t, s, Project{ID: "one", Owner: "u1", Repo: "octo/one", InstallationID: 1})
	renamed := procPutProject(t, s, Project{ID: "renamed", Owner: "u1", Repo: "octo/old-name", InstallationID: 1})
	gone := procPutProject(t, s, Project{ID: "gone", Owner: "u1", Repo: "octo/gone", InstallationID: 1})
	kept := procPutProject(t, s, Project{ID: "kept", Owner: "u2", Repo: "octo/one", RepoID: 11, InstallationID: 1})
	if _, err := s.CreateProject(ctx, Project{ID: "again", Owner: "u3", Repo: "octo/new-name", RepoID: renamedID, InstallationID: 1}); err != nil {
		t.Fatal(err)
	}
	legacyOfU3 := procPutProject(t, s, Project{ID: "legacy-u3", Owner: "u3", Repo: "octo/old-name", InstallationID: 1})

	r, err := s.BackfillRepoIDs(ctx, lookup)
	if err != nil {
		t.Fatalf("BackfillRepoIDs() error = %v", err)
	}
	if r.Lacking != 4 || r.Updated != 3 || len(r.Unresolved) != 1 || r.Unresolved[gone.ID] == "" || !slices.Equal(r.Doubled, []string{legacyOfU3.ID}) {
		t.Errorf("BackfillRepoIDs() = %+v, want 4 lacking, 3 updated, %s unresolved, %s doubled", r, gone.ID, legacyOfU3.ID)
	}
	for _, tt := range []struct {
		id   int64
		want []string
	}{
		{11, []string{kept.ID, one.ID}},
		{renamedID, []string{"again", legacyOfU3.ID, renamed.ID}},
	} {
		got, err := s.ProjectsOfRepo(ctx, tt.id, "octo/any-name")
		if err != nil || !slices.Equal(projectIDs(got), tt.want) {
			t.Errorf("ProjectsOfRepo(%d) after the backfill = %v, %v; want %v", tt.id, projectIDs(got), err, tt.want)
		}
	}
	if p := procGetProject(t, s, gone.ID); p.RepoID != 0 {
		t.Errorf("project of an unknown repository got id %d, want none", p.RepoID)
	}
	// The guard now holds u1's repository under its id: registering its new name is refused.
	_, err = s.CreateProject(ctx, Project{ID: "dup", Owner: "u1", Repo: "octo/new-name", RepoID: renamedID, InstallationID: 1})
	var exists *ProjectExistsError
	if !errors.As(err, &exists) || exists.ID != renamed.ID {
		t.Errorf("CreateProject(u1, new name of a backfilled repository) = %v, want ProjectExistsError naming %s", err, renamed.ID)
	}

	r, err = s.BackfillRepoIDs(ctx, lookup)
	if err != nil || r.Lacking != 1 || r.Updated != 0 || len(r.Doubled) != 0 {
		t.Errorf("BackfillRepoIDs() again = %+v, %v; want only the unresolved project, nothing updated", r, err)
	}
}

// TestFollowRepoWritesNameAndID: a project changed by FollowRepo is stored under the new
// name and id, and the indexes find it by both.
func TestFollowRepoWritesNameAndID(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := rand.Int64N(1<<40) + 1
	oldName, newName := procID("octo")+"/old", procID("Octo")+"/New"
	p := procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: oldName})
	// The repository's directory exists, without the project, before it gets the id.
	if ps, err := s.ProjectsOfRepo(ctx, id, newName); err != nil || len(ps) != 0 {
		t.Fatalf("ProjectsOfRepo(%d) before = %v, %v; want none", id, projectIDs(ps), err)
	}
	got, changed, err := s.MutateProject(ctx, p.ID, func(pr *Project) (bool, error) { return pr.FollowRepo(id, newName), nil })
	if err != nil || !changed || got.Repo != strings.ToLower(newName) || got.RepoID != id {
		t.Fatalf("MutateProject(FollowRepo) = %+v, %v, %v; want repo %s, id %d", got, changed, err, strings.ToLower(newName), id)
	}
	if stored := procGetProject(t, s, p.ID); stored.Repo != strings.ToLower(newName) || stored.RepoID != id {
		t.Errorf("stored project = repo %s id %d, want %s %d", stored.Repo, stored.RepoID, strings.ToLower(newName), id)
	}
	if ps, err := s.ProjectsByRepoID(ctx, id); err != nil || !slices.Equal(projectIDs(ps), []string{p.ID}) {
		t.Errorf("ProjectsByRepoID(%d) = %v, %v; want [%s]", id, projectIDs(ps), err, p.ID)
	}
	if ps, err := s.ProjectsOfRepo(ctx, id, newName); err != nil || !slices.Equal(projectIDs(ps), []string{p.ID}) {
		t.Errorf("ProjectsOfRepo(%d) = %v, %v; want [%s] (in the repository's directory)", id, projectIDs(ps), err, p.ID)
	}
	if ps, err := s.ProjectsByRepo(ctx, oldName); err != nil || len(ps) != 0 {
		t.Errorf("ProjectsByRepo(old name) = %v, %v; want none", projectIDs(ps), err)
	}
	if _, changed, _ := s.MutateProject(ctx, p.ID, func(pr *Project) (bool, error) { return pr.FollowRepo(id, newName), nil }); changed {
		t.Errorf("FollowRepo with the stored name and id changed the project")
	}
}

// TestCreateProjectGuardsRepoID: one project per owner and repository holds across a
// rename: registering the new name finds the project by the repository id, and the old
// name is free for another repository.
func TestCreateProjectGuardsRepoID(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := rand.Int64N(1<<40) + 1
	oldName, newName := procID("octo")+"/old", procID("octo")+"/new"
	first, err := s.CreateProject(ctx, Project{ID: procID("p"), Owner: "u1", Repo: oldName, RepoID: id, InstallationID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.MutateProject(ctx, first.ID, func(pr *Project) (bool, error) { return pr.FollowRepo(id, newName), nil }); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateProject(ctx, Project{ID: procID("p"), Owner: "u1", Repo: newName, RepoID: id, InstallationID: 1})
	var exists *ProjectExistsError
	if !errors.As(err, &exists) || exists.ID != first.ID {
		t.Errorf("CreateProject(new name, same id) = %v, want ProjectExistsError naming %s", err, first.ID)
	}
	// A new repository that took the old name.
	if _, err := s.CreateProject(ctx, Project{ID: procID("p"), Owner: "u1", Repo: oldName, RepoID: id + 1, InstallationID: 1}); err != nil {
		t.Errorf("CreateProject(old name, another repository) = %v, want it registered", err)
	}
	// Deleting releases the id guard.
	if err := s.DeleteProject(ctx, first.ID, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateProject(ctx, Project{ID: procID("p"), Owner: "u1", Repo: newName, RepoID: id, InstallationID: 1}); err != nil {
		t.Errorf("CreateProject after the delete = %v, want it registered", err)
	}
}
