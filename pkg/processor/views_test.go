package processor

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// payloadFiles lists the file names of the real payloads of an event.
func payloadFiles(t *testing.T, event string) []string {
	t.Helper()
	var names []string
	for _, p := range testkit.Payloads(t, event) {
		names = append(names, path.Base(p.Path))
	}
	return names
}

func TestPullRequestEventsConverge(t *testing.T) {
	files := payloadFiles(t, "pull_request")
	for run := range 4 {
		e := newTestEnv(t)
		pr := e.addProject(nil)
		pr2 := e.addProject(nil)
		var ds []delivery
		for _, f := range files {
			ds = append(ds, e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", f))))
		}
		rng := rand.New(rand.NewPCG(uint64(run), 7))
		rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		for _, d := range ds {
			e.mustHandle(d.msg())
		}
		got := e.project(pr.ID)
		v, ok := got.PullRequests["2"]
		// The newest real payloads (15:21:18) are closed, converted_to_draft and
		// ready_for_review; at one time, the further state (closed) wins.
		if !ok || v.State != store.PullRequestClosed || v.Title != "Update the README with new information." || v.Author != "Codertocat" ||
			!v.UpdatedAt.Equal(time.Date(2019, 5, 15, 15, 21, 18, 0, time.UTC)) {
			t.Errorf("run %d: view = %+v, want #2 closed at 15:21:18", run, v)
		}
		if got.PullRequestSummary != (store.PullRequestSummary{Closed: 1}) {
			t.Errorf("run %d: summary = %+v", run, got.PullRequestSummary)
		}
		if p2 := e.project(pr2.ID); p2.PullRequests["2"] != v {
			t.Errorf("run %d: second project view = %+v, want the same", run, p2.PullRequests["2"])
		}
		if n := len(e.updates(pr.ID)); n != len(files) {
			t.Errorf("run %d: updates = %d, want one per delivery (%d)", run, n, len(files))
		}
		b, _ := json.Marshal(got)
		if !strings.Contains(string(b), `"pull_requests":{"2":{"number":2,`) {
			t.Errorf("project JSON lacks the pull request view: %s", b)
		}
	}
}

func TestPullRequestStates(t *testing.T) {
	tests := []struct {
		file string
		edit func(m map[string]any)
		want string
	}{
		{"opened.payload.json", nil, store.PullRequestOpen},
		{"converted_to_draft.with-installation.payload.json", nil, store.PullRequestDraft},
		{"closed.payload.json", nil, store.PullRequestClosed},
		{"closed.payload.json", func(m map[string]any) { set(m, "pull_request.merged", true) }, store.PullRequestMerged},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			e := newTestEnv(t)
			pr := e.addProject(nil)
			m := e.onRepo(loadPayload(t, "pull_request", tt.file))
			if tt.edit != nil {
				tt.edit(m)
			}
			d := e.build("pull_request", m)
			e.mustHandle(d.msg())
			if got := e.project(pr.ID).PullRequests["2"].State; got != tt.want {
				t.Errorf("state = %q, want %q", got, tt.want)
			}
			if ev := e.event(d.env.DeliveryID); ev.Status != store.EventProcessed {
				t.Errorf("event = %s, want processed", ev.Status)
			}
		})
	}
}

func TestPullRequestWithoutProjectIgnored(t *testing.T) {
	e := newTestEnv(t)
	d := e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", "opened.payload.json")))
	e.mustHandle(d.msg())
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventIgnored || ev.Reason != ReasonNoProject {
		t.Errorf("event = %s %q, want ignored: %s", ev.Status, ev.Reason, ReasonNoProject)
	}
}

// issuePayload loads a real issues payload on the env's repository.
func (e *testEnv) issue(file string, edit func(m map[string]any)) delivery {
	e.t.Helper()
	m := e.onRepo(loadPayload(e.t, "issues", file))
	if edit != nil {
		edit(m)
	}
	return e.build("issues", m)
}

// closedIssue is the real "opened" payload as GitHub sends it after the issue is closed.
func closedIssue(at string) func(m map[string]any) {
	return func(m map[string]any) {
		set(m, "action", "closed")
		set(m, "issue.state", "closed")
		set(m, "issue.closed_at", at)
		set(m, "issue.updated_at", at)
	}
}

func TestIssueTasks(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	e.mustHandle(e.push("main", "docs/plan.md").msg())

	opened := e.issue("opened.payload.json", nil)
	milestoned := e.issue("milestoned.payload.json", nil) // issue #2
	e.mustHandle(opened.msg(), milestoned.msg())
	got := e.project(pr.ID)
	if got.IssueSummary != (store.IssueSummary{Total: 2, Open: 2}) {
		t.Fatalf("issues = %+v, want 2 open", got.IssueSummary)
	}
	e.mustHandle(e.issue("opened.payload.json", closedIssue("2019-05-15T16:00:00Z")).msg())
	got = e.project(pr.ID)
	if got.IssueSummary != (store.IssueSummary{Total: 2, Open: 1, Done: 1}) || got.LatestSnapshot.Issues != got.IssueSummary {
		t.Errorf("after close: issues %+v, snapshot issues %+v, want 1 done of 2 in both", got.IssueSummary, got.LatestSnapshot.Issues)
	}
	want := store.ProgressSummary{Plan: 0.25, Issues: 0.5, Combined: 2.0 / 6, TasksTotal: 6, TasksDone: 2}
	if got.Progress != want {
		t.Errorf("progress = %+v, want %+v", got.Progress, want)
	}
	if task := got.Issues["1"]; !task.Done || task.Title != "Spelling error in the README file" {
		t.Errorf("task #1 = %+v, want done", task)
	}
	// A late "edited" of before the close changes nothing.
	late := e.issue("edited.payload.json", nil)
	e.mustHandle(late.msg())
	if task := e.project(pr.ID).Issues["1"]; !task.Done {
		t.Errorf("late edited reopened the task: %+v", task)
	}
	// Deleted is final, even before a later reopen arrives (the real reopened and
	// deleted payloads carry the same time).
	e.mustHandle(e.issue("deleted.payload.json", nil).msg(), e.issue("reopened.payload.json", nil).msg())
	got = e.project(pr.ID)
	if _, ok := got.Issues["1"]; ok || got.IssueSummary.Total != 1 {
		t.Errorf("after delete: issues = %+v, want #1 gone", got.Issues)
	}
	// Actions that change no task are ignored with a reason.
	d := e.issue("assigned.with-installation.payload.json", nil)
	e.mustHandle(d.msg())
	if ev := e.event(d.env.DeliveryID); ev.Status != store.EventIgnored || ev.Reason != ReasonActionIgnored {
		t.Errorf("assigned = %s %q, want ignored", ev.Status, ev.Reason)
	}
	b, _ := json.Marshal(got)
	for _, key := range []string{`"issues":{"total":1,"open":1,"done":0}`, `"progress":{"plan":0.25,"issues":0,"combined":0.2`, `"issue_tasks":{"2":`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("project JSON lacks %s: %s", key, b)
		}
	}
}

func TestIssueFilters(t *testing.T) {
	tests := []struct {
		name      string
		label     string
		milestone string
		edit      func(m map[string]any)
		want      bool // a task
	}{
		{"no filter", "", "", nil, true},
		{"label matches any case", "BUG", "", nil, true},
		{"label missing", "enhancement", "", nil, false},
		{"milestone matches", "", "v1.0", nil, true},
		{"milestone differs", "", "v2.0", nil, false},
		{"both match", "bug", "v1.0", nil, true},
		{"label removed", "bug", "", func(m map[string]any) { set(m, "issue.labels", []any{}) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			pr := e.addProject(func(p *store.Project) { p.IssueLabel, p.IssueMilestone = tt.label, tt.milestone })
			e.mustHandle(e.issue("labeled.payload.json", tt.edit).msg())
			got := e.project(pr.ID)
			if _, ok := got.Issues["1"]; ok != tt.want {
				t.Errorf("issue #1 a task = %v, want %v", ok, tt.want)
			}
			if !tt.want && got.IssuesRemoved["1"].Removed != store.IssueFiltered {
				t.Errorf("tombstone = %+v, want filtered", got.IssuesRemoved["1"])
			}
		})
	}
}

func TestIssueLeavesFilterThenLateEvent(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(func(p *store.Project) { p.IssueLabel = "bug" })
	unlabeled := e.issue("unlabeled.payload.json", func(m map[string]any) { set(m, "issue.labels", []any{}) }) // 15:20:26
	labeled := e.issue("labeled.payload.json", nil)                                                            // 15:20:18
	e.mustHandle(unlabeled.msg(), labeled.msg())
	if got := e.project(pr.ID); len(got.Issues) != 0 {
		t.Errorf("issues = %+v, want none: the later event removed the label", got.Issues)
	}
}

func TestIssueTransferred(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	opened := e.issue("opened.payload.json", nil)
	m := e.onRepo(loadPayload(t, "issues", "transferred.payload.json"))
	set(m, "issue.number", 1)
	e.mustHandle(opened.msg(), e.build("issues", m).msg())
	got := e.project(pr.ID)
	if len(got.Issues) != 0 || got.IssuesRemoved["1"].Removed != store.IssueTransferred {
		t.Errorf("issues = %+v removed = %+v, want #1 transferred", got.Issues, got.IssuesRemoved)
	}
}

func TestEventsFixturesProcess(t *testing.T) {
	// The sample events of events/processor (for make invoke) are SQS batches this
	// handler takes, on the local stack's demo repository.
	root := standin.Root(t)
	tests := []struct {
		file       string
		wantFailed []string
	}{
		{"push.json", nil},
		{"batch.json", nil},
		{"bad-record.json", []string{"5f2c0009-1d7a-4c3b-9a41-0c6a8d1e0009"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			e := newTestEnv(t)
			e.owner, e.name = "demo-org", "demo-app"
			e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1, "go.mod": goMod})
			b, err := os.ReadFile(filepath.Join(root, "events", "processor", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var ev events.SQSEvent
			if err := json.Unmarshal(b, &ev); err != nil || len(ev.Records) == 0 {
				t.Fatalf("not an SQS event: %v", err)
			}
			if failed := e.handle(ev.Records...); !slices.Equal(failed, tt.wantFailed) {
				t.Errorf("failed = %v, want %v", failed, tt.wantFailed)
			}
		})
	}
}
