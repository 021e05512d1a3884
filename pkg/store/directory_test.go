package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRepoDirectory: a repository's directory lists the projects registered with its
// id, with the branch and plan path deliveries are judged by: built from the index
// the first time it is needed (projects written before it existed included), then
// kept by CreateProject and DeleteProject. It is no project: no index, list or scan
// returns it, and no project may take its id.
func TestRepoDirectory(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	repo := procID("octo") + "/dir"
	repoID := testRepoID(repo)
	// Written before directories existed: only the index knows it.
	before := procPutProject(t, s, Project{ID: procID("p"), Owner: "u0", Repo: repo, RepoID: repoID, InstallationID: 1, Branch: "dev", PlanPath: "PLAN.md"})

	created := apiTestProject(procID("p"), "u1", repo)
	created.Branch = "main"
	if _, err := s.CreateProject(ctx, created); err != nil {
		t.Fatalf("CreateProject() error = %v", err)
	}
	want := []Project{
		{ID: before.ID, RepoID: repoID, Branch: "dev", PlanPath: "PLAN.md"},
		{ID: created.ID, RepoID: repoID, Branch: "main", PlanPath: "docs/plan.md"},
	}
	slices.SortFunc(want, func(a, b Project) int { return strings.Compare(a.ID, b.ID) })
	got, entry, err := s.ProjectsAndEntry(ctx, repoID, procID("d"))
	if err != nil || entry != nil || !slices.EqualFunc(got, want, sameDirectoryEntry) {
		t.Fatalf("ProjectsAndEntry(created) = %+v, %v, %v; want %+v, no entry", got, entry, err, want)
	}

	if err := s.DeleteProject(ctx, created.ID, "u1"); err != nil {
		t.Fatalf("DeleteProject() error = %v", err)
	}
	got, err = s.ProjectsOfRepo(ctx, repoID, repo)
	if err != nil || !slices.Equal(projectIDs(got), []string{before.ID}) {
		t.Errorf("ProjectsOfRepo(after delete) = %v, %v; want [%s]", projectIDs(got), err, before.ID)
	}

	t.Run("not a project", func(t *testing.T) {
		byRepo, err := s.ProjectsByRepoID(ctx, repoID)
		if err != nil || !slices.Equal(projectIDs(byRepo), []string{before.ID}) {
			t.Errorf("ProjectsByRepoID() = %v, %v; want [%s] (the directory stays out of the index)", projectIDs(byRepo), err, before.ID)
		}
		if _, err := s.GetProject(ctx, directoryID(repoID)); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetProject(directory) error = %v, want ErrNotFound", err)
		}
		read, err := s.ProjectsByID(ctx, []string{directoryID(repoID), before.ID})
		if err != nil || !slices.Equal(projectIDs(read), []string{before.ID}) {
			t.Errorf("ProjectsByID(directory, project) = %v, %v; want [%s]", projectIDs(read), err, before.ID)
		}
		p := apiTestProject(directoryID(repoID), "u9", repo)
		if _, err := s.CreateProject(ctx, p); err == nil {
			t.Errorf("CreateProject(id %s) = nil error, want the id refused", p.ID)
		}
	})
}

func sameDirectoryEntry(a, b Project) bool {
	return a.ID == b.ID && a.RepoID == b.RepoID && a.Branch == b.Branch && a.PlanPath == b.PlanPath
}

// TestProjectsAndEntry: the read before a claim tells, from the delivery's entry, what
// the claim would: nothing yet, held by a live lease (busy), done (a duplicate), or
// failed (may be claimed).
func TestProjectsAndEntry(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	repoID := rand.Int64N(1<<40) + 1
	claim := func(id string) Event {
		t.Helper()
		ev, err := s.ClaimEvent(ctx, EventClaim{DeliveryID: id, EventType: "push", ReceivedAt: now, Lease: time.Minute,
			Envelope: `{"v":1}`})
		if err != nil {
			t.Fatalf("ClaimEvent(%s) error = %v", id, err)
		}
		return ev
	}
	busy := claim("busy")
	done := claim("done")
	if err := s.CompleteEvent(ctx, "done", done.Attempts, EventProcessed, ""); err != nil {
		t.Fatalf("CompleteEvent() error = %v", err)
	}
	failed := claim("failed")
	if err := s.FailEvent(ctx, "failed", failed.Attempts, "", "boom"); err != nil {
		t.Fatalf("FailEvent() error = %v", err)
	}
	tests := []struct {
		delivery  string
		wantEntry bool
		want      error
	}{
		{"new", false, nil},
		{"busy", true, ErrEventBusy},
		{"done", true, ErrEventDone},
		{"failed", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.delivery, func(t *testing.T) {
			projects, entry, err := s.ProjectsAndEntry(ctx, repoID, tt.delivery)
			if err != nil || len(projects) != 0 {
				t.Fatalf("ProjectsAndEntry(%s) = %v, _, %v; want no projects", tt.delivery, projects, err)
			}
			if (entry != nil) != tt.wantEntry {
				t.Fatalf("ProjectsAndEntry(%s) entry = %+v, want one: %v", tt.delivery, entry, tt.wantEntry)
			}
			if entry == nil {
				return
			}
			if got := entry.ClaimRefusal(now); !errors.Is(got, tt.want) {
				t.Errorf("ClaimRefusal(%s) = %v, want %v", tt.delivery, got, tt.want)
			}
			if entry.Envelope != "" || entry.Attempts != 1 {
				t.Errorf("ProjectsAndEntry(%s) = envelope %q, attempts %d; want status, lease and attempts only (1)", tt.delivery, entry.Envelope, entry.Attempts)
			}
		})
	}
	// A lease that has run out may be taken over.
	if got := busy.ClaimRefusal(now.Add(2 * time.Minute)); got != nil {
		t.Errorf("ClaimRefusal(after the lease) = %v, want nil", got)
	}
}

// TestRepoDirectoryConcurrent: registrations racing on a repository that has no
// directory yet (each may build it) and deliveries reading it meanwhile leave every
// project listed.
func TestRepoDirectoryConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	repo := procID("octo") + "/race"
	repoID := testRepoID(repo)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.CreateProject(ctx, apiTestProject(fmt.Sprintf("r%d", i), fmt.Sprintf("u%d", i), repo))
		})
		wg.Go(func() {
			_, _, errs[n+i] = s.ProjectsAndEntry(ctx, repoID, fmt.Sprintf("d%d", i))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent CreateProject and ProjectsAndEntry: %v", err)
	}
	got, err := s.ProjectsOfRepo(ctx, repoID, repo)
	want := []string{"r0", "r1", "r2", "r3", "r4", "r5"}
	if err != nil || !slices.Equal(projectIDs(got), want) {
		t.Errorf("ProjectsOfRepo() = %v, %v; want %v", projectIDs(got), err, want)
	}
}
