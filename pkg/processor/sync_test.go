package processor

import (
	"errors"
	"testing"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/store"
)

func TestSyncProject(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil) // tracks the default branch
	sha := e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1, "go.mod": goMod})

	for range 2 { // the same job twice is one entry
		got, err := e.p.SyncProject(e.ctx, pr, "api-req-1")
		if err != nil {
			t.Fatalf("SyncProject() error = %v", err)
		}
		if got.Status != store.ProjectActive || got.LatestSnapshot == nil || got.LatestSnapshot.CommitSHA != sha || got.LatestSnapshot.TasksTotal != 4 {
			t.Fatalf("SyncProject() = %q %+v, want active at %s", got.Status, got.LatestSnapshot, sha)
		}
		if got.Version == 0 || got.ID != pr.ID || got.Owner != pr.Owner {
			t.Errorf("SyncProject() returned %+v, want the stored project", got)
		}
	}
	ups := e.updates(pr.ID)
	if len(ups) != 1 {
		t.Fatalf("updates = %+v, want 1", ups)
	}
	u := ups[0]
	if u.EventType != EventRegistration || u.JobID != "api-req-1" || u.DeliveryID != "" || u.CommitSHA != sha ||
		u.UpdateKey != store.UpdateKey(pr.CreatedAt, "registration#api-req-1") {
		t.Errorf("update = %+v", u)
	}
	if n := len(e.snapshots(pr.ID)); n != 1 {
		t.Errorf("snapshots = %d, want 1", n)
	}
}

func TestSyncProjectStatuses(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *testEnv) store.Project
		status  string
		message string
	}{
		{"branch missing", func(e *testEnv) store.Project {
			e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
			return e.addProject(func(p *store.Project) { p.Branch = "develop" })
		}, store.ProjectPlanMissing, "branch develop not found"},
		{"empty repository", func(e *testEnv) store.Project {
			e.gh.repoLocked(e.repo()) // exists, no commit
			return e.addProject(nil)
		}, store.ProjectPlanMissing, "the repository has no commit"},
		{"repository gone", func(e *testEnv) store.Project {
			return e.addProject(nil)
		}, store.ProjectAccessLost, "the repository is gone or the installation cannot read it"},
		{"installation suspended", func(e *testEnv) store.Project {
			e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
			e.gh.setInstallation(e.inst, &fakeInstall{suspended: true, repos: []string{e.repo()}})
			return e.addProject(nil)
		}, store.ProjectAccessLost, "the installation cannot read the repository"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			pr := tt.setup(e)
			got, err := e.p.SyncProject(e.ctx, pr, "job")
			if err != nil {
				t.Fatalf("SyncProject() error = %v, want a status", err)
			}
			if got.Status != tt.status || got.StatusError != tt.message {
				t.Errorf("SyncProject() = %q %q, want %q %q", got.Status, got.StatusError, tt.status, tt.message)
			}
			if e.project(pr.ID).Status != tt.status {
				t.Error("status not stored")
			}
		})
	}
}

func TestSyncProjectErrors(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	e.gh.failNext(opHead, errRetryable("GET /repos/{owner}/{repo}/commits/{ref}"))
	if _, err := e.p.SyncProject(e.ctx, pr, "job"); !ghapp.IsRetryable(err) {
		t.Errorf("SyncProject(GitHub 502) error = %v, want retryable", err)
	}
	if got := e.project(pr.ID); got.Status != store.ProjectPending {
		t.Errorf("status after a failed read = %q, want pending", got.Status)
	}
	if err := e.st.DeleteProject(e.ctx, pr.ID, pr.Owner); err != nil {
		t.Fatal(err)
	}
	if _, err := e.p.SyncProject(e.ctx, pr, "job"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SyncProject(deleted project) error = %v, want store.ErrNotFound", err)
	}
}
