package processor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/store"
)

var t0 = time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)

// newPlanEnv is the usual start: an env with one project whose plan (planV1) is
// committed on main.
func newPlanEnv(t *testing.T) (*testEnv, store.Project) {
	t.Helper()
	e := newTestEnv(t)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	return e, pr
}

func TestPushWritesSnapshot(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	other := e.addProject(func(p *store.Project) { p.PlanPath = "./PLAN.md" })
	sha := e.gh.commit(e.repo(), "main", t0, map[string]string{
		"docs/plan.md": planV1, "go.mod": goMod, "web/package.json": packageJSON, "PLAN.md": "- [x] one\n",
	})

	d := e.push("main", "docs/plan.md", "web/package.json")
	e.mustHandle(d.msg())

	got := e.project(pr.ID)
	s := got.LatestSnapshot
	if got.Status != store.ProjectActive || s == nil {
		t.Fatalf("project = %q with snapshot %v, want active with a snapshot", got.Status, s)
	}
	if s.CommitSHA != sha || !s.CommitAt.Equal(t0) || !s.PlanFound || s.TasksTotal != 4 || s.TasksDone != 1 || s.Progress != 0.25 {
		t.Errorf("snapshot = %+v, want plan 1/4 at %s", s, sha)
	}
	wantSections := []store.Section{
		{Title: "Roadmap", Level: 1},
		{Title: "Phase 1", Level: 2, TasksTotal: 2, TasksDone: 1, Progress: 0.5},
		{Title: "Phase 2", Level: 2, TasksTotal: 2},
	}
	if !slices.Equal(s.Sections, wantSections) {
		t.Errorf("sections = %+v, want %+v", s.Sections, wantSections)
	}
	// Root manifests are always read; web/package.json because the push named it.
	if want := []string{"go.mod", "web/package.json"}; !slices.Equal(s.Manifests, want) {
		t.Errorf("manifests = %v, want %v", s.Manifests, want)
	}
	wantDeps := []store.Dependency{
		{Name: "github.com/google/uuid", Version: "v1.6.0", Ecosystem: "Go modules", Manifest: "go.mod"},
		{Name: "react", Version: "^18.2.0", Ecosystem: "npm", Manifest: "web/package.json"},
		{Name: "vite", Version: "5.0.0", Ecosystem: "npm", Manifest: "web/package.json"},
	}
	if !slices.Equal(s.Deps, wantDeps) {
		t.Errorf("dependencies = %+v, want %+v", s.Deps, wantDeps)
	}
	if s.DeliveryID != d.env.DeliveryID || got.Progress.Plan != 0.25 || !got.LastUpdated.Equal(e.clock.Now()) {
		t.Errorf("delivery %q progress %+v last_updated %v", s.DeliveryID, got.Progress, got.LastUpdated)
	}
	if snaps := e.snapshots(pr.ID); len(snaps) != 1 || snaps[0].CommitKey != store.CommitKey(t0, sha) || snaps[0].TasksDone != 1 {
		t.Errorf("snapshots = %+v, want one at %s", snaps, store.CommitKey(t0, sha))
	}
	ups := e.updates(pr.ID)
	if len(ups) != 1 {
		t.Fatalf("updates = %+v, want 1", ups)
	}
	u := ups[0]
	if u.EventType != "push" || u.DeliveryID != d.env.DeliveryID || u.CommitSHA != sha || u.JobID == "" ||
		u.UpdateKey != store.UpdateKey(d.env.ReceivedAt, d.env.DeliveryID) || !strings.Contains(u.Summary, "1/4") {
		t.Errorf("update = %+v", u)
	}
	// The second project's plan was not in the push, but a manifest was: it is read too,
	// its plan path "./PLAN.md" normalised.
	if o := e.project(other.ID); o.LatestSnapshot == nil || o.LatestSnapshot.TasksDone != 1 || o.LatestSnapshot.PlanPath != "PLAN.md" {
		t.Errorf("other project snapshot = %+v, want PLAN.md 1/1", o.LatestSnapshot)
	}
	// One head read and one read per file for both projects.
	if n := e.gh.callCount(opHead); n != 1 {
		t.Errorf("HeadCommit calls = %d, want 1 for two projects", n)
	}
	ev := e.event(d.env.DeliveryID)
	if ev.Status != store.EventProcessed || ev.Attempts != 1 || ev.ProcessedAt == nil || ev.Envelope != d.body || ev.Repo != e.repoKey() || ev.InstallationID != e.inst {
		t.Errorf("event = %+v, want processed with envelope", ev)
	}
	if e.metricCount("EventsProcessed", "push") != 1 || !strings.Contains(e.metrics.String(), `"ProcessingLatency"`) {
		t.Errorf("metrics = %s, want EventsProcessed and ProcessingLatency for push", e.metrics.String())
	}
	if !strings.Contains(e.logs.String(), `"github_delivery_id":"`+d.env.DeliveryID+`"`) {
		t.Errorf("logs lack github_delivery_id: %s", e.logs.String())
	}
}

func TestPushIgnored(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(e *testEnv) delivery
		reason string
	}{
		{"tag deleted (real payload)", func(e *testEnv) delivery {
			e.addProject(nil)
			return e.build("push", e.onRepo(loadPayload(t, "push", "with-installation.payload.json")))
		}, ReasonBranchDeleted},
		{"tag created", func(e *testEnv) delivery {
			e.addProject(nil)
			m := e.onRepo(loadPayload(t, "push", "payload.json"))
			set(m, "deleted", false)
			set(m, "created", true)
			return e.build("push", m)
		}, ReasonTagPush},
		{"branch deleted", func(e *testEnv) delivery {
			e.addProject(nil)
			m := e.onRepo(loadPayload(t, "push", "payload.json"))
			set(m, "ref", "refs/heads/main")
			return e.build("push", m)
		}, ReasonBranchDeleted},
		{"no project", func(e *testEnv) delivery { return e.push("main", "docs/plan.md") }, ReasonNoProject},
		{"untracked branch", func(e *testEnv) delivery {
			e.addProject(nil)
			e.addProject(func(p *store.Project) { p.Branch = "release" })
			return e.push("feature", "docs/plan.md")
		}, fmt.Sprintf(reasonBranchUntracked, "feature")},
		{"irrelevant paths (real payload)", func(e *testEnv) delivery {
			e.addProject(func(p *store.Project) { p.Branch = "master" })
			return e.build("push", e.onRepo(loadPayload(t, "push", "with-new-branch.payload.json")))
		}, ReasonIrrelevant},
		{"suffix of the plan path is not the plan", func(e *testEnv) delivery {
			e.addProject(nil)
			return e.push("main", "old/docs/plan.md", "docs/plan.md.bak", "README.md")
		}, ReasonIrrelevant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			d := tt.setup(e)
			e.mustHandle(d.msg())
			ev := e.event(d.env.DeliveryID)
			if ev.Status != store.EventIgnored || ev.Reason != tt.reason {
				t.Errorf("event = %s %q, want ignored %q", ev.Status, ev.Reason, tt.reason)
			}
			if n := e.gh.totalCalls(); n != 0 {
				t.Errorf("GitHub calls = %d, want none for an ignored push", n)
			}
			if e.metricCount("EventsIgnored", "push") != 1 {
				t.Errorf("EventsIgnored not counted: %s", e.metrics.String())
			}
		})
	}
}

func TestPushRelevance(t *testing.T) {
	tests := []struct {
		paths      []string
		incomplete bool
		plan       string
		want       bool
	}{
		{[]string{"docs/plan.md"}, false, "docs/plan.md", true},
		{[]string{"docs/plan.md"}, false, "/docs/plan.md", true},
		{[]string{"docs/plan.md"}, false, "./docs/plan.md", true},
		{[]string{"a/docs/plan.md"}, false, "docs/plan.md", false},
		{[]string{"services/api/go.mod"}, false, "docs/plan.md", true},
		{[]string{"deep/x/y/Dockerfile"}, false, "docs/plan.md", true},
		{[]string{"go.mod.bak", "README.md"}, false, "docs/plan.md", false},
		{nil, true, "docs/plan.md", true},
		{nil, false, "docs/plan.md", false},
	}
	for _, tt := range tests {
		if got := pushRelevant(tt.paths, tt.incomplete, tt.plan); got != tt.want {
			t.Errorf("pushRelevant(%v, %v, %q) = %v, want %v", tt.paths, tt.incomplete, tt.plan, got, tt.want)
		}
	}
}

func TestPushPathsIncompleteIsRelevant(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV2})
	m := e.onRepo(loadPayload(t, "push", "with-new-branch.payload.json"))
	set(m, "ref", "refs/heads/main")
	set(m, "repository.default_branch", "main")
	set(m, "forced", true) // a forced push may drop commits: the path list is incomplete
	d := e.build("push", m)
	if !d.env.Push.PathsIncomplete {
		t.Fatal("envelope.Build did not mark a forced push incomplete")
	}
	e.mustHandle(d.msg())
	if got := e.project(pr.ID); got.LatestSnapshot == nil || got.LatestSnapshot.TasksDone != 3 {
		t.Errorf("snapshot = %+v, want plan 3/4", got.LatestSnapshot)
	}
}

func TestPushPlanMissing(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	sha := e.gh.commit(e.repo(), "main", t0, map[string]string{"go.mod": goMod})
	d := e.push("main", "docs/plan.md")
	e.mustHandle(d.msg())
	got := e.project(pr.ID)
	if got.Status != store.ProjectPlanMissing || got.StatusError != "plan file docs/plan.md not found at "+sha[:7] {
		t.Errorf("status = %q %q, want plan_missing", got.Status, got.StatusError)
	}
	if s := got.LatestSnapshot; s == nil || s.PlanFound || s.CommitSHA != sha || len(s.Deps) != 1 {
		t.Errorf("snapshot = %+v, want plan not found, go.mod read", s)
	}
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed {
		t.Errorf("event status = %s, want processed (a missing plan is not a failure)", ev.Status)
	}
}

func TestPushAccessAndBranchStatuses(t *testing.T) {
	t.Run("repository out of reach", func(t *testing.T) {
		e, pr := newPlanEnv(t)
		e.gh.repos[e.repoKey()].installation = 99 // installation 1 can no longer see it
		d := e.push("main", "docs/plan.md")
		e.mustHandle(d.msg())
		if got := e.project(pr.ID); got.Status != store.ProjectAccessLost || got.LatestSnapshot != nil {
			t.Errorf("project = %q %v, want access_lost without snapshot", got.Status, got.LatestSnapshot)
		}
		if ups := e.updates(pr.ID); len(ups) != 1 || !strings.HasPrefix(ups[0].Summary, "access_lost") {
			t.Errorf("updates = %+v, want one access_lost entry", ups)
		}
	})
	t.Run("tracked branch gone", func(t *testing.T) {
		e := newTestEnv(t)
		pr := e.addProject(func(p *store.Project) { p.Branch = "release" })
		e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
		d := e.push("release", "docs/plan.md") // the branch was deleted again since
		e.mustHandle(d.msg())
		if got := e.project(pr.ID); got.Status != store.ProjectPlanMissing || got.StatusError != "branch release not found" {
			t.Errorf("project = %q %q, want plan_missing: branch release not found", got.Status, got.StatusError)
		}
	})
}

func TestPushGitHubFailureIsRetried(t *testing.T) {
	for _, tt := range []struct {
		name string
		op   string
		err  error
	}{
		{"5xx on head", opHead, errRetryable("GET /repos/{owner}/{repo}/commits/{ref}")},
		{"rate limit on plan", opFile, errRateLimited("GET /repos/{owner}/{repo}/contents/{path}")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, pr := newPlanEnv(t)
			e.gh.failNext(tt.op, tt.err)
			d := e.push("main", "docs/plan.md")
			m := d.msg()
			e.mustFail(m, tt.name)
			ev := e.event(d.env.DeliveryID)
			if ev.Status != store.EventFailed || ev.Error == "" || ev.Attempts != 1 || ev.LeaseUntil != nil {
				t.Errorf("event = %+v, want failed with error", ev)
			}
			if e.project(pr.ID).LatestSnapshot != nil {
				t.Error("snapshot written although the read failed")
			}
			// SQS delivers the same message again.
			e.clock.Advance(3 * time.Minute)
			e.mustHandle(m)
			ev = e.event(d.env.DeliveryID)
			if ev.Status != store.EventProcessed || ev.Attempts != 2 || ev.Error != "" {
				t.Errorf("after retry event = %+v, want processed, 2 attempts, no error", ev)
			}
			if e.metricCount("EventsFailed", "push") != 1 || e.metricCount("EventsProcessed", "push") != 1 {
				t.Errorf("metrics = %s", e.metrics.String())
			}
		})
	}
}

func TestDuplicateDeliveryChangesNothing(t *testing.T) {
	e, pr := newPlanEnv(t)
	d := e.push("main", "docs/plan.md")
	first, again, redelivered := d.msg(), d.msg(), d.msg()
	e.mustHandle(first)
	before := e.project(pr.ID)
	calls := e.gh.totalCalls()
	e.mustHandle(again)
	e.mustHandle(redelivered, redelivered) // the same message twice in one batch, too

	if after := e.project(pr.ID); after.Version != before.Version || !after.LastUpdated.Equal(before.LastUpdated) {
		t.Errorf("project changed by a duplicate: version %d -> %d", before.Version, after.Version)
	}
	if n := e.gh.totalCalls(); n != calls {
		t.Errorf("GitHub calls %d -> %d, want none for duplicates", calls, n)
	}
	if s, u := e.snapshots(pr.ID), e.updates(pr.ID); len(s) != 1 || len(u) != 1 {
		t.Errorf("%d snapshots, %d updates, want 1 and 1", len(s), len(u))
	}
	dups := e.duplicates(d.env.DeliveryID)
	if len(dups) != 2 {
		t.Fatalf("duplicate entries = %d, want 2 (one per message)", len(dups))
	}
	for _, dup := range dups {
		if dup.Status != store.EventDuplicate || !strings.HasPrefix(dup.DeliveryID, d.env.DeliveryID+"#dup#") {
			t.Errorf("duplicate entry = %+v", dup)
		}
	}
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed || ev.Attempts != 1 {
		t.Errorf("original entry = %s after %d attempts, want processed after 1", ev.Status, ev.Attempts)
	}
	if got := e.metricCount("EventsDuplicate", "push"); got != 3 {
		t.Errorf("EventsDuplicate = %v, want 3", got)
	}
}

// crashingStore fails one write after the snapshot is stored: a worker dying between
// its writes.
type crashingStore struct {
	Store
	crash atomic.Bool
}

func (c *crashingStore) MutateProject(ctx context.Context, id string, fn func(*store.Project) (bool, error)) (store.Project, bool, error) {
	if c.crash.CompareAndSwap(true, false) {
		return store.Project{}, false, errors.New("injected crash after the snapshot write")
	}
	return c.Store.MutateProject(ctx, id, fn)
}

func TestCrashBetweenWritesThenRetry(t *testing.T) {
	run := func(crash bool) (store.Project, []store.Snapshot, []store.Update, store.Event) {
		e := newTestEnv(t)
		cs := &crashingStore{Store: e.st}
		cs.crash.Store(crash)
		e.p = e.newProcessor(cs, e.gh)
		pr := e.addProject(nil)
		e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1, "go.mod": goMod})
		d := e.push("main", "docs/plan.md")
		m := d.msg()
		if crash {
			if failed := e.handle(m); len(failed) != 1 {
				t.Fatalf("crashing run failed %v, want the message", failed)
			}
			if n := len(e.snapshots(pr.ID)); n != 1 {
				t.Fatalf("after the crash: %d snapshots, want the one written before it", n)
			}
			e.clock.Advance(3 * time.Minute)
		}
		e.mustHandle(m)
		return e.project(pr.ID), e.snapshots(pr.ID), e.updates(pr.ID), e.event(d.env.DeliveryID)
	}
	clean, cleanSnaps, cleanUps, _ := run(false)
	got, snaps, ups, ev := run(true)
	if len(snaps) != 1 || len(ups) != 1 || len(cleanSnaps) != 1 || len(cleanUps) != 1 {
		t.Fatalf("after retry: %d snapshots, %d updates, want 1 and 1", len(snaps), len(ups))
	}
	if a, b := normalize(clean), normalize(got); !projectsEqual(a, b) {
		t.Errorf("state after crash and retry differs from a clean run:\n got %+v\nwant %+v", b, a)
	}
	if ev.Status != store.EventProcessed || ev.Attempts != 2 {
		t.Errorf("event = %s after %d attempts, want processed after 2", ev.Status, ev.Attempts)
	}
}

func TestExpiredLeaseIsTakenOver(t *testing.T) {
	e, pr := newPlanEnv(t)
	d := e.push("main", "docs/plan.md")
	// A worker claimed the delivery and died without a word.
	if _, err := e.st.ClaimEvent(e.ctx, store.EventClaim{DeliveryID: d.env.DeliveryID, EventType: "push",
		ReceivedAt: d.env.ReceivedAt, Lease: DefaultLease}); err != nil {
		t.Fatal(err)
	}
	m := d.msg()
	// While its lease is live, the delivery is busy: the message fails, to come back.
	e.mustFail(m, "another worker holds the delivery")
	if e.project(pr.ID).LatestSnapshot != nil {
		t.Fatal("processed a delivery another worker holds")
	}
	e.clock.Advance(DefaultLease + time.Second)
	e.mustHandle(m)
	if got := e.project(pr.ID); got.LatestSnapshot == nil {
		t.Error("expired lease not taken over")
	}
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed || ev.Attempts != 2 {
		t.Errorf("event = %s after %d attempts, want processed after 2", ev.Status, ev.Attempts)
	}
}

func TestBatchWithBadRecords(t *testing.T) {
	e, pr := newPlanEnv(t)
	good1 := e.push("main", "docs/plan.md")
	good2 := e.push("main", "README.md")
	future := e.push("main", "docs/plan.md")
	badVersion := strings.Replace(future.body, `"v":1`, `"v":99`, 1)

	m1, m3 := good1.msg(), good2.msg()
	malformed := sqsMessage("bad-json", `{"v":1,"delivery_id":`, "x", "push")
	unknown := sqsMessage("bad-version", badVersion, future.env.DeliveryID, "push")
	empty := sqsMessage("empty", ``, "", "")
	failed := e.handle(m1, malformed, m3, unknown, empty)
	if want := []string{"bad-json", "bad-version", "empty"}; !slices.Equal(failed, want) {
		t.Fatalf("BatchItemFailures = %v, want exactly %v", failed, want)
	}
	if ev := e.event(good1.env.DeliveryID); ev.Status != store.EventProcessed {
		t.Errorf("good record 1 = %s, want processed", ev.Status)
	}
	if ev := e.event(good2.env.DeliveryID); ev.Status != store.EventIgnored {
		t.Errorf("good record 2 = %s, want ignored", ev.Status)
	}
	if ev := e.event(future.env.DeliveryID); ev.Status != store.EventFailed || !strings.Contains(ev.Error, "unsupported envelope version 99") {
		t.Errorf("unknown version entry = %s %q, want failed naming the version", ev.Status, ev.Error)
	}
	if got := e.project(pr.ID); got.LatestSnapshot == nil {
		t.Error("good push not applied")
	}
	if got := e.metricCount("EventsFailed", "unknown"); got != 2 {
		t.Errorf("EventsFailed{unknown} = %v, want 2", got)
	}
}

// recordingStore records the order of claims and completions.
type recordingStore struct {
	Store
	mu  sync.Mutex
	ops []string
}

func (r *recordingStore) note(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

func (r *recordingStore) ClaimEvent(ctx context.Context, c store.EventClaim) (store.Event, error) {
	r.note("claim " + c.DeliveryID)
	return r.Store.ClaimEvent(ctx, c)
}

func (r *recordingStore) CompleteEvent(ctx context.Context, id string, attempt int, status, reason string) error {
	err := r.Store.CompleteEvent(ctx, id, attempt, status, reason)
	r.note("done " + id)
	return err
}

func TestBatchKeepsRepositoryOrder(t *testing.T) {
	e := newTestEnv(t)
	rs := &recordingStore{Store: e.st}
	e.p = e.newProcessor(rs, e.gh)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	other := newTestEnv(t)
	other.addProject(nil)
	var msgs []events.SQSMessage
	var want, ids []string
	for i := range 6 {
		d := e.push("main", "docs/plan.md")
		e.clock.Advance(time.Millisecond)
		msgs = append(msgs, d.msg())
		// Other repositories in the same batch run beside it.
		msgs = append(msgs, other.push("main", fmt.Sprintf("README%d.md", i)).msg())
		want = append(want, "claim "+d.env.DeliveryID, "done "+d.env.DeliveryID)
		ids = append(ids, d.env.DeliveryID)
	}
	e.mustHandle(msgs...)
	var got []string
	for _, op := range rs.ops {
		id := strings.Fields(op)[1]
		if slices.Contains(ids, id) {
			got = append(got, op)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("operations on the repository = %v, want one delivery after another in batch order %v", got, want)
	}
	if n := len(e.updates(pr.ID)); n != 6 {
		t.Errorf("updates = %d, want 6", n)
	}
}

func TestUnhandledEventIgnored(t *testing.T) {
	for _, tt := range []struct{ event, file string }{
		{"issue_comment", "created.payload.json"},
		{"star", "created.payload.json"},
		{"release", "published.payload.json"},
	} {
		t.Run(tt.event, func(t *testing.T) {
			e := newTestEnv(t)
			e.addProject(nil)
			d := e.build(tt.event, e.onRepo(loadPayload(t, tt.event, tt.file)))
			e.mustHandle(d.msg())
			if ev := e.event(d.env.DeliveryID); ev.Status != store.EventIgnored || ev.Reason != ReasonNotHandled {
				t.Errorf("event = %s %q, want ignored %q", ev.Status, ev.Reason, ReasonNotHandled)
			}
		})
	}
}

func TestManifestsFromFileListing(t *testing.T) {
	e := newTestEnvWith(t, func(f *fakeGitHub) GitHub { return listingGitHub{f} })
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{
		"docs/plan.md": planV1, "services/api/go.mod": goMod, "deep/web/package.json": packageJSON, "README.md": "x",
	})
	e.mustHandle(e.push("main", "docs/plan.md").msg()) // names no manifest
	s := e.project(pr.ID).LatestSnapshot
	if want := []string{"deep/web/package.json", "services/api/go.mod"}; !slices.Equal(s.Manifests, want) {
		t.Errorf("manifests = %v, want %v (every folder, from the listing)", s.Manifests, want)
	}
	if len(s.Deps) != 3 {
		t.Errorf("dependencies = %+v, want 3", s.Deps)
	}
}

func TestManifestsRememberedWithoutListing(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1, "svc/go.mod": goMod, "svc/Dockerfile": "FROM golang:1.22 AS b\nFROM scratch\n"})
	e.mustHandle(e.push("main", "svc/go.mod").msg())
	// A later push names only the plan: svc/go.mod is still read (remembered from the
	// previous snapshot); svc/Dockerfile was never named, so it is not known.
	e.gh.commit(e.repo(), "main", t0.Add(time.Minute), map[string]string{"docs/plan.md": planV2, "svc/go.mod": goMod, "svc/Dockerfile": "FROM golang:1.22 AS b\nFROM scratch\n"})
	e.mustHandle(e.push("main", "docs/plan.md").msg())
	s := e.project(pr.ID).LatestSnapshot
	if want := []string{"svc/go.mod"}; !slices.Equal(s.Manifests, want) {
		t.Errorf("manifests = %v, want %v", s.Manifests, want)
	}
	// Removing it drops it.
	e.gh.commit(e.repo(), "main", t0.Add(2*time.Minute), map[string]string{"docs/plan.md": planV2})
	e.mustHandle(e.push("main", "svc/go.mod").msg())
	if s := e.project(pr.ID).LatestSnapshot; len(s.Manifests) != 0 || len(s.Deps) != 0 {
		t.Errorf("after removal manifests = %v deps = %v, want none", s.Manifests, s.Deps)
	}
}

func TestMalformedManifestIsNotAFailure(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1, "package.json": "{not json", "go.mod": goMod})
	e.mustHandle(e.push("main", "package.json").msg())
	s := e.project(pr.ID).LatestSnapshot
	if want := []string{"go.mod", "package.json"}; !slices.Equal(s.Manifests, want) || len(s.Deps) != 1 {
		t.Errorf("manifests = %v deps = %v, want both listed and go.mod's dependency", s.Manifests, s.Deps)
	}
}

func TestPlanTooLarge(t *testing.T) {
	big := strings.Repeat("- [ ] x\n", (1<<20)/8+1)
	tests := []struct {
		name    string
		listing bool // the listing gives the size: the plan is not fetched at all
	}{
		{"size from the contents API", false},
		{"size from the listing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e *testEnv
			if tt.listing {
				e = newTestEnvWith(t, func(f *fakeGitHub) GitHub { return listingGitHub{f} })
			} else {
				e = newTestEnv(t)
			}
			pr := e.addProject(nil)
			e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": big, "go.mod": goMod})
			d := e.push("main", "docs/plan.md")
			e.mustHandle(d.msg())
			got := e.project(pr.ID)
			if got.Status != store.ProjectPlanTooLarge || !strings.Contains(got.StatusError, "larger than 1 MiB") {
				t.Errorf("status = %q %q, want plan_too_large saying the limit", got.Status, got.StatusError)
			}
			if s := got.LatestSnapshot; s == nil || s.PlanFound || !s.PlanTooLarge || len(s.Deps) != 1 {
				t.Errorf("snapshot = %+v, want the plan not read and go.mod's dependency", s)
			}
			if ev := e.event(d.env.DeliveryID); ev.Status != store.EventIgnored || ev.Reason != ReasonPlanTooLarge {
				t.Errorf("event = %s %q, want ignored with %q", ev.Status, ev.Reason, ReasonPlanTooLarge)
			}
			if n := e.gh.callCount(opFile); tt.listing && n != 1 {
				t.Errorf("file reads = %d, want 1 (go.mod; the plan's size is known from the listing)", n)
			}
		})
	}
	// Registration (the API calls SyncProject) reads with the same limits.
	t.Run("at registration", func(t *testing.T) {
		e := newTestEnv(t)
		pr := e.addProject(nil)
		e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": big})
		got, err := e.p.SyncProject(e.ctx, pr, "api-1")
		if err != nil || got.Status != store.ProjectPlanTooLarge {
			t.Errorf("SyncProject() = %q, %v; want plan_too_large, no error", got.Status, err)
		}
	})
}

func TestDeadlineNearDefersRecords(t *testing.T) {
	e := newTestEnv(t)
	e.addProject(nil)
	d := e.push("main", "docs/plan.md")
	m := d.msg()
	ctx, cancel := context.WithTimeout(e.ctx, DefaultDeadlineMargin/2)
	defer cancel()
	resp, err := e.p.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{m}})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != m.MessageId {
		t.Fatalf("Handle(near deadline) = %+v, %v, want the record returned", resp, err)
	}
	var evs []store.Event
	if err := e.db.Table(e.tables.Events).Get("delivery_id", d.env.DeliveryID).All(e.ctx, &evs); err != nil || len(evs) != 0 {
		t.Errorf("event log = %v, %v, want the delivery not even claimed", evs, err)
	}
}

// TestRedeliveredMessage: a message SQS delivers again is claimed before the projects
// are read (early.go), and ends as the first delivery would have: ignored with the same
// reason, processed, or a duplicate of what was done before.
func TestRedeliveredMessage(t *testing.T) {
	again := func(m events.SQSMessage) events.SQSMessage {
		m.Attributes = map[string]string{"ApproximateReceiveCount": "2"}
		return m
	}
	tests := []struct {
		name       string
		paths      []string
		ref        string
		doneBefore bool
		status     string
		reason     string
		dups       int
	}{
		{"irrelevant, never done", []string{"README.md"}, "", false, store.EventIgnored, ReasonIrrelevant, 0},
		{"tag push", []string{"docs/plan.md"}, "refs/tags/v1", false, store.EventIgnored, ReasonTagPush, 0},
		{"relevant, never done", []string{"docs/plan.md"}, "", false, store.EventProcessed, "", 0},
		{"irrelevant, done before", []string{"README.md"}, "", true, store.EventIgnored, ReasonIrrelevant, 1},
		{"relevant, done before", []string{"docs/plan.md"}, "", true, store.EventProcessed, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newPlanEnv(t)
			d := e.push("main", tt.paths...)
			if tt.ref != "" {
				m := e.onRepo(loadPayload(t, "push", "with-new-branch.payload.json"))
				set(m, "ref", tt.ref)
				d = e.build("push", m)
			}
			m := d.msg()
			if tt.doneBefore {
				e.mustHandle(m)
			}
			e.mustHandle(again(m))
			ev := e.event(d.env.DeliveryID)
			if ev.Status != tt.status || (tt.reason != "" && ev.Reason != tt.reason) || ev.Attempts != 1 {
				t.Errorf("entry = %s %q after %d attempts, want %s %q after 1", ev.Status, ev.Reason, ev.Attempts, tt.status, tt.reason)
			}
			if n := len(e.duplicates(d.env.DeliveryID)); n != tt.dups {
				t.Errorf("duplicate entries = %d, want %d", n, tt.dups)
			}
		})
	}
}
