package store

import (
	"context"
	"errors"
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
// under any name, and those registered by name alone; a project with another id under
// the same name tracks another repository (one renamed away from this name).
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
		{"renamed: id and name", id, strings.ToUpper(newName), []string{byID.ID, legacy.ID}},
		{"old name with the id", id, oldName, []string{byID.ID}},
		{"name only", 0, newName, []string{legacy.ID, other.ID}},
		{"the other repository", id + 1, newName, []string{legacy.ID, other.ID}},
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

// TestFollowRepoWritesNameAndID: a project changed by FollowRepo is stored under the new
// name and id, and the indexes find it by both.
func TestFollowRepoWritesNameAndID(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := rand.Int64N(1<<40) + 1
	oldName, newName := procID("octo")+"/old", procID("Octo")+"/New"
	p := procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: oldName})
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
