package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"
)

func apiTestProject(id, owner, repo string) Project {
	return Project{ID: id, Owner: owner, Repo: repo, RepoID: testRepoID(repo), InstallationID: 1, PlanPath: "docs/plan.md"}
}

// testRepoID stands for GitHub's id of repo (any case): the same name, the same id.
func testRepoID(repo string) int64 {
	h := fnv.New64a()
	h.Write([]byte(strings.ToLower(repo)))
	return int64(h.Sum64()>>24) + 1
}

func TestCreateProjectOncePerOwnerAndRepo(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)

	p, err := s.CreateProject(ctx, apiTestProject("p1", "alice", "Octo/Demo"))
	if err != nil {
		t.Fatalf("CreateProject(p1) error = %v", err)
	}
	if p.Repo != "octo/demo" || p.Status != ProjectPending || p.CreatedAt.IsZero() || !p.LastUpdated.Equal(p.CreatedAt) {
		t.Errorf("CreateProject(p1) = %+v, want lower-case repo, pending, timestamps set", p)
	}
	got, err := s.GetProject(ctx, "p1")
	if err != nil || got.Owner != "alice" || got.Repo != "octo/demo" {
		t.Fatalf("GetProject(p1) = %+v, %v, want alice's octo/demo", got, err)
	}

	_, err = s.CreateProject(ctx, apiTestProject("p2", "alice", "octo/DEMO"))
	var exists *ProjectExistsError
	if !errors.As(err, &exists) || exists.ID != "p1" || !errors.Is(err, ErrProjectExists) {
		t.Fatalf("CreateProject(p2, same repo) error = %v, want ProjectExistsError{p1}", err)
	}
	if _, err := s.GetProject(ctx, "p2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetProject(p2) error = %v, want ErrNotFound (nothing stored)", err)
	}
	if _, err := s.CreateProject(ctx, apiTestProject("p3", "bob", "octo/demo")); err != nil {
		t.Errorf("CreateProject(bob, same repo) error = %v, want nil (one per owner)", err)
	}
	if _, err := s.CreateProject(ctx, apiTestProject("p1", "alice", "octo/other")); err == nil {
		t.Errorf("CreateProject(existing id) error = nil, want an error")
	}
	if _, err := s.CreateProject(ctx, Project{ID: "p9", Owner: "alice"}); err == nil {
		t.Errorf("CreateProject(no repo) error = nil, want an error")
	}

	// After a delete the repository can be registered again.
	if err := s.DeleteProject(ctx, "p1", "alice"); err != nil {
		t.Fatalf("DeleteProject(p1) error = %v", err)
	}
	if _, err := s.CreateProject(ctx, apiTestProject("p4", "alice", "octo/demo")); err != nil {
		t.Errorf("CreateProject(after delete) error = %v, want nil", err)
	}
}

func TestCreateProjectGuardTakeover(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newTestStore(t).WithClock(func() time.Time { return now })
	// A guard left by a registration that never wrote its project.
	gid := guardID("alice", "octo/demo")
	put := func(at time.Time) {
		t.Helper()
		if err := s.db.Table(s.tables.Projects).Put(projectGuard{ID: gid, ProjectID: "ghost", GuardedAt: at}).Run(ctx); err != nil {
			t.Fatalf("put guard: %v", err)
		}
	}
	put(now.Add(-5 * time.Second))
	if _, err := s.CreateProject(ctx, apiTestProject("p1", "alice", "octo/demo")); !errors.Is(err, ErrProjectExists) {
		t.Errorf("CreateProject(fresh guard of a missing project) error = %v, want ErrProjectExists (may still be written)", err)
	}
	put(now.Add(-time.Minute))
	if _, err := s.CreateProject(ctx, apiTestProject("p1", "alice", "octo/demo")); err != nil {
		t.Errorf("CreateProject(stale guard) error = %v, want nil", err)
	}
	// Guards are not projects.
	if _, err := s.GetProject(ctx, gid); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetProject(guard id) error = %v, want ErrNotFound", err)
	}
	list, _, err := s.ProjectsByOwner(ctx, "alice", 0, "")
	if err != nil || len(list) != 1 || list[0].ID != "p1" {
		t.Errorf("ProjectsByOwner(alice) = %+v, %v, want only p1", list, err)
	}
	byRepo, err := s.ProjectsByRepo(ctx, "octo/demo")
	if err != nil || len(byRepo) != 1 {
		t.Errorf("ProjectsByRepo(octo/demo) = %d projects, %v, want 1 (guards stay out of the index)", len(byRepo), err)
	}
}

func TestCreateProjectConcurrent(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	exactlyOnce(t, "CreateProject(alice, octo/race)", 6, ErrProjectExists, func(i int) error {
		_, err := s.CreateProject(ctx, apiTestProject(fmt.Sprintf("c%d", i), "alice", "octo/race"))
		return err
	})
}

func TestProjectsByOwnerPages(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= 5; i++ {
		p := apiTestProject(fmt.Sprintf("a%d", i), "alice", fmt.Sprintf("octo/r%d", i))
		p.CreatedAt = base.Add(time.Duration(i) * time.Minute)
		if _, err := s.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject(%s) error = %v", p.ID, err)
		}
	}
	if _, err := s.CreateProject(ctx, apiTestProject("b1", "bob", "octo/r1")); err != nil {
		t.Fatalf("CreateProject(b1) error = %v", err)
	}
	pages := listPages(t, func(cursor string) ([]string, string, error) {
		page, next, err := s.ProjectsByOwner(ctx, "alice", 2, cursor)
		var ids []string
		for _, p := range page {
			ids = append(ids, p.ID)
		}
		return ids, next, err
	})
	if got, want := fmt.Sprint(pages), "[[a5 a4] [a3 a2] [a1]]"; got != want {
		t.Errorf("ProjectsByOwner(alice) pages = %s, want %s", got, want)
	}
	if _, _, err := s.ProjectsByOwner(ctx, "alice", 2, "not-a-cursor"); !errors.Is(err, ErrBadCursor) {
		t.Errorf("ProjectsByOwner(bad cursor) error = %v, want ErrBadCursor", err)
	}
}

func TestListSnapshotsAndUpdatesPages(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := 1; i <= 7; i++ {
		at := base.Add(time.Duration(i) * time.Minute)
		for _, pid := range []string{"p1", "p2"} {
			if _, err := s.PutSnapshot(ctx, Snapshot{ProjectID: pid, CommitSHA: fmt.Sprintf("sha%d", i), CommitAt: at, TasksTotal: i}); err != nil {
				t.Fatalf("PutSnapshot error = %v", err)
			}
			if _, err := s.PutUpdate(ctx, Update{ProjectID: pid, DeliveryID: fmt.Sprintf("d%d", i), EventType: "push", At: at}); err != nil {
				t.Fatalf("PutUpdate error = %v", err)
			}
		}
	}
	tests := []struct {
		name string
		list func(cursor string) ([]string, string, error)
	}{
		{"snapshots", func(c string) ([]string, string, error) {
			page, next, err := s.ListSnapshots(ctx, "p1", 3, c)
			var out []string
			for _, sn := range page {
				out = append(out, sn.CommitSHA)
			}
			return out, next, err
		}},
		{"updates", func(c string) ([]string, string, error) {
			page, next, err := s.ListUpdates(ctx, "p1", 3, c)
			var out []string
			for _, u := range page {
				if u.ProjectID != "p1" {
					return nil, "", fmt.Errorf("update of %s in p1's log", u.ProjectID)
				}
				out = append(out, "sha"+u.DeliveryID[1:])
			}
			return out, next, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pages := listPages(t, tt.list)
			if got, want := fmt.Sprint(pages), "[[sha7 sha6 sha5] [sha4 sha3 sha2] [sha1]]"; got != want {
				t.Errorf("pages = %s, want %s", got, want)
			}
		})
	}
	// A page size over the maximum is clamped; an exact last page has no cursor.
	page, next, err := s.ListSnapshots(ctx, "p2", 1000, "")
	if err != nil || len(page) != 7 || next != "" {
		t.Errorf("ListSnapshots(p2, 1000) = %d items, cursor %q, %v, want 7 and no cursor", len(page), next, err)
	}
	ups, next, err := s.ListUpdates(ctx, "p2", 7, "")
	if err != nil || len(ups) != 7 || next != "" {
		t.Errorf("ListUpdates(p2, 7) = %d items, cursor %q, %v, want 7 and no cursor", len(ups), next, err)
	}
	if _, _, err := s.ListSnapshots(ctx, "p1", 3, encodeCursor(map[string]string{"other": "x"})); !errors.Is(err, ErrBadCursor) {
		t.Errorf("ListSnapshots(foreign cursor) error = %v, want ErrBadCursor", err)
	}
}

func TestDeleteProjectAndPurge(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if _, err := s.CreateProject(ctx, apiTestProject("p1", "alice", "octo/demo")); err != nil {
		t.Fatalf("CreateProject error = %v", err)
	}
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		at := base.Add(time.Duration(i) * time.Minute)
		if _, err := s.PutSnapshot(ctx, Snapshot{ProjectID: "p1", CommitSHA: fmt.Sprintf("s%d", i), CommitAt: at}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutUpdate(ctx, Update{ProjectID: "p1", DeliveryID: fmt.Sprintf("d%d", i), At: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteProject(ctx, "p1", "bob"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteProject(p1 by bob) error = %v, want ErrNotFound", err)
	}
	if _, err := s.GetProject(ctx, "p1"); err != nil {
		t.Fatalf("GetProject(p1) after bob's delete error = %v, want the project intact", err)
	}
	if err := s.DeleteProject(ctx, "p1", "alice"); err != nil {
		t.Fatalf("DeleteProject(p1 by alice) error = %v", err)
	}
	if err := s.DeleteProject(ctx, "p1", "alice"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteProject(p1 again) error = %v, want ErrNotFound", err)
	}
	n, more, err := s.PurgeProjectHistory(ctx, "p1", 5)
	if err != nil || n != 5 || !more {
		t.Fatalf("PurgeProjectHistory(p1, 5) = %d, %v, %v, want 5, true", n, more, err)
	}
	n, more, err = s.PurgeProjectHistory(ctx, "p1", 5)
	if err != nil || n != 3 || more {
		t.Fatalf("PurgeProjectHistory(p1, 5) again = %d, %v, %v, want 3, false", n, more, err)
	}
	snaps, _, _ := s.ListSnapshots(ctx, "p1", 0, "")
	ups, _, _ := s.ListUpdates(ctx, "p1", 0, "")
	if len(snaps)+len(ups) != 0 {
		t.Errorf("after purge: %d snapshots, %d updates, want none", len(snaps), len(ups))
	}
}
