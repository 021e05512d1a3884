package store

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// procID returns an id unique within the test binary, so tests can share tables.
var procID = testkit.Unique

func procPutProject(t *testing.T, s *Store, p Project) Project {
	t.Helper()
	if p.Status == "" {
		p.Status = ProjectPending
	}
	if p.PlanPath == "" {
		p.PlanPath = "docs/plan.md"
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if err := s.db.Table(s.tables.Projects).Put(p).Run(context.Background()); err != nil {
		t.Fatalf("put project: %v", err)
	}
	return p
}

func procGetProject(t *testing.T, s *Store, id string) Project {
	t.Helper()
	var p Project
	if err := s.db.Table(s.tables.Projects).Get("id", id).Consistent(true).One(context.Background(), &p); err != nil {
		t.Fatalf("get project %s: %v", id, err)
	}
	return p
}

func TestProjectsByRepo(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	repo := procID("octo") + "/app"
	other := procID("octo") + "/other"
	a := procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: repo})
	b := procPutProject(t, s, Project{ID: procID("p"), Owner: "u2", Repo: repo, Branch: "dev"})
	procPutProject(t, s, Project{ID: procID("p"), Owner: "u1", Repo: other})

	got, err := s.ProjectsByRepo(ctx, "OCTO"+repo[4:])
	if err != nil {
		t.Fatalf("ProjectsByRepo() error = %v", err)
	}
	if len(got) != 2 || got[0].ID != min(a.ID, b.ID) || got[1].ID != max(a.ID, b.ID) {
		t.Errorf("ProjectsByRepo(%s) = %d projects %v, want %s and %s", repo, len(got), got, a.ID, b.ID)
	}
	none, err := s.ProjectsByRepo(ctx, "nobody/nothing")
	if err != nil || len(none) != 0 {
		t.Errorf("ProjectsByRepo(unknown) = %v, %v, want none", none, err)
	}
}

func procSnap(at time.Time, sha string, found bool, total, done int) Snapshot {
	return Snapshot{CommitAt: at, CommitSHA: sha, PlanPath: "docs/plan.md", PlanFound: found,
		TasksTotal: total, TasksDone: done, Progress: Ratio(done, total)}
}

func TestApplySnapshotFollowsLatestRead(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	read := func(snap Snapshot, at time.Time) Snapshot { snap.ReadAt = at; return snap }
	// Read first: a commit made a minute later than the one read last.
	early := read(procSnap(t0.Add(time.Minute), "ffff111", true, 4, 1), t0.Add(time.Hour))
	// Read second: a commit of the same second whose SHA sorts lower.
	middle := read(procSnap(t0.Add(time.Minute), "0000222", false, 0, 0), t0.Add(time.Hour+time.Second))
	// Read last: the branch forced back to an older commit.
	last := read(procSnap(t0, "aaaa333", true, 4, 3), t0.Add(time.Hour+2*time.Second))

	orders := [][]Snapshot{{early, middle, last}, {last, middle, early}, {middle, early, last}}
	wantVersions := []int64{3, 1, 2} // one write per snapshot applied
	for i, order := range orders {
		id := procID("p")
		procPutProject(t, s, Project{ID: id, Repo: "o/r"})
		for _, snap := range order {
			if _, _, err := s.ApplySnapshot(ctx, id, snap, ""); err != nil {
				t.Fatalf("ApplySnapshot(%s) error = %v", snap.CommitSHA, err)
			}
		}
		p := procGetProject(t, s, id)
		if p.LatestSnapshot == nil || p.LatestSnapshot.CommitSHA != "aaaa333" {
			t.Fatalf("order %d: latest = %+v, want aaaa333 (read last)", i, p.LatestSnapshot)
		}
		if p.Status != ProjectActive || p.StatusError != "" || !p.HeadReadAt.Equal(last.ReadAt) {
			t.Errorf("status %q %q head_read_at %v, want active at %v", p.Status, p.StatusError, p.HeadReadAt, last.ReadAt)
		}
		if p.Progress.Plan != 0.75 || p.Progress.Combined != 0.75 || p.Progress.TasksTotal != 4 {
			t.Errorf("Progress = %+v, want plan 0.75", p.Progress)
		}
		if p.Version != wantVersions[i] {
			t.Errorf("order %d: Version = %d, want %d", i, p.Version, wantVersions[i])
		}
	}
}

func TestSetReadStatusKeepsLaterRead(t *testing.T) {
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	snap := procSnap(t0, "aaaa111", true, 4, 1)
	snap.ReadAt = t0.Add(time.Minute)
	var p Project
	p.ApplySnapshot(snap, "")
	if p.SetReadStatus(ProjectPlanMissing, "branch main not found", t0) {
		t.Errorf("SetReadStatus(read before the snapshot) = true, want false")
	}
	if p.Status != ProjectActive {
		t.Errorf("Status = %q after an earlier read's status, want active", p.Status)
	}
	if !p.SetReadStatus(ProjectPlanMissing, "branch main not found", t0.Add(2*time.Minute)) || p.Status != ProjectPlanMissing {
		t.Errorf("SetReadStatus(later read) left status %q, want plan_missing", p.Status)
	}
	if p.ApplySnapshot(snap, "") {
		t.Errorf("ApplySnapshot(read before the status) = true, want false")
	}
}

func TestApplySnapshotStatus(t *testing.T) {
	t0 := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		from       string
		snap       Snapshot
		statusErr  string
		wantStatus string
		wantErr    string
	}{
		{"found", ProjectPending, procSnap(t0, "abcdef0123", true, 2, 1), "", ProjectActive, ""},
		{"missing", ProjectActive, procSnap(t0, "abcdef0123", false, 0, 0), "", ProjectPlanMissing, "plan file docs/plan.md not found at abcdef0"},
		{"missing with reason", ProjectActive, procSnap(t0, "abcdef0123", false, 0, 0), "plan file is over 1 MiB", ProjectPlanMissing, "plan file is over 1 MiB"},
		{"access lost stays", ProjectAccessLost, procSnap(t0, "abcdef0123", true, 2, 1), "", ProjectAccessLost, "gone"},
		{"suspended stays", ProjectSuspended, procSnap(t0, "abcdef0123", true, 2, 1), "", ProjectSuspended, "gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Project{Status: tt.from, StatusError: "gone"}
			if !p.ApplySnapshot(tt.snap, tt.statusErr) {
				t.Fatal("ApplySnapshot() = false, want applied")
			}
			if p.Status != tt.wantStatus || p.StatusError != tt.wantErr {
				t.Errorf("ApplySnapshot() status = %q %q, want %q %q", p.Status, p.StatusError, tt.wantStatus, tt.wantErr)
			}
			if p.LatestSnapshot.CommitKey != CommitKey(t0, "abcdef0123") {
				t.Errorf("CommitKey = %q", p.LatestSnapshot.CommitKey)
			}
		})
	}
}

func TestMutateProjectConcurrentWriters(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := procID("p")
	procPutProject(t, s, Project{ID: id, Repo: "o/r"})
	const writers = 8
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := PullRequestView{Number: i + 1, Title: "pr", State: PullRequestOpen, UpdatedAt: time.Unix(int64(i), 0)}
			if _, _, err := s.ApplyPullRequest(ctx, id, v); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ApplyPullRequest() error = %v", err)
	}
	p := procGetProject(t, s, id)
	if len(p.PullRequests) != writers || p.Version != writers || p.PullRequestSummary.Open != writers {
		t.Errorf("after %d concurrent writers: %d pull requests, version %d, summary %+v", writers, len(p.PullRequests), p.Version, p.PullRequestSummary)
	}
}

func TestMutateProjectRereadsOnConflict(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := procID("p")
	procPutProject(t, s, Project{ID: id, Repo: "o/r"})
	calls := 0
	_, changed, err := s.MutateProject(ctx, id, func(p *Project) (bool, error) {
		calls++
		if calls == 1 {
			// Another worker writes between this read and this write.
			if _, _, err := s.SetProjectStatus(ctx, id, ProjectPlanMissing, "other"); err != nil {
				return false, err
			}
		}
		return p.ApplyIssue(IssueTask{Number: 1, Title: "t", UpdatedAt: time.Unix(5, 0)}), nil
	})
	if err != nil || !changed {
		t.Fatalf("MutateProject() = %v, %v, want changed", changed, err)
	}
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2 (once more after the conflict)", calls)
	}
	p := procGetProject(t, s, id)
	if p.Status != ProjectPlanMissing || p.IssueSummary.Open != 1 || p.Version != 2 {
		t.Errorf("project = status %q issues %+v version %d, want both writes kept", p.Status, p.IssueSummary, p.Version)
	}
}

func TestMutateProjectNeverRecreatesDeleted(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	if _, _, err := s.SetProjectStatus(ctx, procID("missing"), ProjectActive, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetProjectStatus(missing) error = %v, want ErrNotFound", err)
	}
	id := procID("p")
	procPutProject(t, s, Project{ID: id, Repo: "o/r"})
	_, _, err := s.MutateProject(ctx, id, func(p *Project) (bool, error) {
		// The API deletes the project while the processor works on it.
		if err := s.db.Table(s.tables.Projects).Delete("id", id).Run(ctx); err != nil {
			return false, err
		}
		return p.SetStatus(ProjectActive, ""), nil
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("MutateProject(deleted meanwhile) error = %v, want ErrNotFound", err)
	}
	var left []Project
	if err := s.db.Table(s.tables.Projects).Get("id", id).Consistent(true).All(ctx, &left); err != nil || len(left) != 0 {
		t.Errorf("project after delete = %v, %v, want none", left, err)
	}
}

func TestApplyPullRequestConverges(t *testing.T) {
	t1 := time.Date(2019, 5, 15, 15, 20, 33, 0, time.UTC)
	t2 := time.Date(2019, 5, 15, 15, 21, 18, 0, time.UTC)
	views := []PullRequestView{
		{Number: 2, Title: "Update", State: PullRequestOpen, UpdatedAt: t1},
		{Number: 2, Title: "Update", State: PullRequestDraft, UpdatedAt: t2},
		{Number: 2, Title: "Update", State: PullRequestClosed, UpdatedAt: t2},
		{Number: 2, Title: "Update", State: PullRequestOpen, UpdatedAt: t2},
	}
	want := views[2]
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		order := append([]PullRequestView(nil), views...)
		rng.Shuffle(len(order), func(a, b int) { order[a], order[b] = order[b], order[a] })
		var p Project
		for _, v := range order {
			p.ApplyPullRequest(v)
		}
		if got := p.PullRequests["2"]; got != want {
			t.Errorf("run %d: view = %+v, want %+v", i, got, want)
		}
		if p.PullRequestSummary != (PullRequestSummary{Closed: 1}) {
			t.Errorf("run %d: summary = %+v", i, p.PullRequestSummary)
		}
	}
	var p Project
	p.ApplyPullRequest(want)
	if p.ApplyPullRequest(want) {
		t.Error("ApplyPullRequest(same view) = true, want no change")
	}
}

func TestApplyPullRequestPrunesClosed(t *testing.T) {
	var p Project
	for i := range MaxClosedPullRequests + 5 {
		p.ApplyPullRequest(PullRequestView{Number: i + 1, State: PullRequestMerged, UpdatedAt: time.Unix(int64(1000+i), 0)})
	}
	p.ApplyPullRequest(PullRequestView{Number: 9999, State: PullRequestOpen, UpdatedAt: time.Unix(1, 0)})
	if len(p.PullRequests) != MaxClosedPullRequests+1 {
		t.Fatalf("kept %d pull requests, want %d", len(p.PullRequests), MaxClosedPullRequests+1)
	}
	for n := 1; n <= 5; n++ {
		if _, ok := p.PullRequests[strconv.Itoa(n)]; ok {
			t.Errorf("oldest merged #%d kept", n)
		}
	}
	if _, ok := p.PullRequests["9999"]; !ok {
		t.Error("old open pull request pruned")
	}
}

func TestApplyIssue(t *testing.T) {
	t1 := time.Date(2019, 5, 15, 15, 20, 18, 0, time.UTC)
	t2 := t1.Add(10 * time.Second)
	open := IssueTask{Number: 1, Title: "Spelling", UpdatedAt: t1}
	closed := IssueTask{Number: 1, Title: "Spelling", Done: true, UpdatedAt: t2}
	filtered := IssueTask{Number: 1, Removed: IssueFiltered, UpdatedAt: t2}
	deleted := IssueTask{Number: 1, Removed: IssueDeleted, UpdatedAt: t1}
	reopenedLater := IssueTask{Number: 1, Title: "Spelling", UpdatedAt: t2.Add(time.Hour)}
	tests := []struct {
		name      string
		events    []IssueTask
		wantTasks int
		wantDone  int
		wantTomb  string
	}{
		{"opened", []IssueTask{open}, 1, 0, ""},
		{"opened then closed", []IssueTask{open, closed}, 1, 1, ""},
		{"closed then late opened", []IssueTask{closed, open}, 1, 1, ""},
		{"filtered after", []IssueTask{open, filtered}, 0, 0, IssueFiltered},
		{"filtered before late opened", []IssueTask{filtered, open}, 0, 0, IssueFiltered},
		{"matches again later", []IssueTask{open, filtered, reopenedLater}, 1, 0, ""},
		{"deleted is final", []IssueTask{deleted, reopenedLater, closed}, 0, 0, IssueDeleted},
		{"deleted after", []IssueTask{open, closed, deleted}, 0, 0, IssueDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p Project
			for _, e := range tt.events {
				p.ApplyIssue(e)
			}
			if p.IssueSummary.Total != tt.wantTasks || p.IssueSummary.Done != tt.wantDone {
				t.Errorf("IssueSummary = %+v, want %d tasks %d done", p.IssueSummary, tt.wantTasks, tt.wantDone)
			}
			if got := p.IssuesRemoved["1"].Removed; got != tt.wantTomb {
				t.Errorf("tombstone = %q, want %q", got, tt.wantTomb)
			}
		})
	}
}

func TestApplyIssuePrunesOldTombstones(t *testing.T) {
	var p Project
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p.ApplyIssue(IssueTask{Number: 1, Removed: IssueDeleted, UpdatedAt: t0})
	p.ApplyIssue(IssueTask{Number: 2, Title: "new", UpdatedAt: t0.Add(TombstoneRetention - time.Hour)})
	if _, ok := p.IssuesRemoved["1"]; !ok {
		t.Fatal("tombstone pruned before TombstoneRetention")
	}
	p.ApplyIssue(IssueTask{Number: 3, Title: "newer", UpdatedAt: t0.Add(TombstoneRetention + time.Hour)})
	if _, ok := p.IssuesRemoved["1"]; ok {
		t.Error("tombstone kept after TombstoneRetention")
	}
}

func TestRecountProgress(t *testing.T) {
	p := Project{}
	p.ApplySnapshot(procSnap(time.Unix(100, 0), "abc", true, 8, 2), "")
	p.ApplyIssue(IssueTask{Number: 1, Done: true, UpdatedAt: time.Unix(1, 0)})
	p.ApplyIssue(IssueTask{Number: 2, UpdatedAt: time.Unix(1, 0)})
	want := ProgressSummary{Plan: 0.25, Issues: 0.5, Combined: 0.3, TasksTotal: 10, TasksDone: 3}
	if p.Progress != want {
		t.Errorf("Progress = %+v, want %+v", p.Progress, want)
	}
	if p.LatestSnapshot.Issues != (IssueSummary{Total: 2, Open: 1, Done: 1}) {
		t.Errorf("latest_snapshot.issues = %+v, want the project's summary", p.LatestSnapshot.Issues)
	}
}

func TestPutSnapshotAndUpdateAreIdempotent(t *testing.T) {
	ctx := context.Background()
	s := sharedTestStore(t)
	id := procID("p")
	at := time.Date(2026, 2, 1, 10, 0, 0, 500, time.UTC)
	for range 2 {
		snap, err := s.PutSnapshot(ctx, Snapshot{ProjectID: id, CommitSHA: "ABC", CommitAt: at, PlanPath: "docs/plan.md", PlanFound: true,
			Sections: []Section{{Title: "One", Level: 1, TasksTotal: 1}}, Deps: []Dependency{{Name: "x", Ecosystem: "npm", Manifest: "package.json"}}})
		if err != nil {
			t.Fatalf("PutSnapshot() error = %v", err)
		}
		if snap.CommitKey != "2026-02-01T10:00:00.000000500Z#abc" {
			t.Errorf("CommitKey = %q", snap.CommitKey)
		}
		if _, err := s.PutUpdate(ctx, Update{ProjectID: id, EventType: "push", DeliveryID: "d1", JobID: "m1", At: at}); err != nil {
			t.Fatalf("PutUpdate() error = %v", err)
		}
	}
	var snaps []Snapshot
	if err := s.db.Table(s.tables.Snapshots).Get("project_id", id).All(ctx, &snaps); err != nil {
		t.Fatal(err)
	}
	var ups []Update
	if err := s.db.Table(s.tables.Updates).Get("project_id", id).All(ctx, &ups); err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 1 || len(ups) != 1 {
		t.Fatalf("after writing twice: %d snapshots, %d updates, want 1 and 1", len(snaps), len(ups))
	}
	if len(snaps[0].Sections) != 1 || len(snaps[0].Deps) != 1 || !snaps[0].CommitAt.Equal(at) {
		t.Errorf("snapshot read back = %+v", snaps[0])
	}
	if ups[0].UpdateKey != UpdateKey(at, "d1") {
		t.Errorf("UpdateKey = %q, want %q", ups[0].UpdateKey, UpdateKey(at, "d1"))
	}
	if _, err := s.PutSnapshot(ctx, Snapshot{ProjectID: id}); err == nil {
		t.Error("PutSnapshot(no commit) error = nil, want refusal")
	}
}
