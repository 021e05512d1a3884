package processor

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/store"
)

// normalize blanks what differs between equal states reached differently: identity,
// which delivery and when the state was last written, and how many writes it took.
func normalize(p store.Project) store.Project {
	p.ID, p.Owner, p.Repo, p.RepoID = "", "", "", 0
	p.CreatedAt, p.LastUpdated = time.Time{}, time.Time{}
	p.Version, p.HeadReadAt = 0, time.Time{}
	if p.LatestSnapshot != nil {
		s := *p.LatestSnapshot
		s.ReadAt, s.DeliveryID = time.Time{}, ""
		p.LatestSnapshot = &s
	}
	return p
}

// projectsEqual compares two normalized projects field by field, including those the
// API's JSON leaves out.
func projectsEqual(a, b store.Project) bool {
	type full struct {
		P       store.Project
		Removed map[string]store.IssueTask
		Commit  time.Time
		Version int64
	}
	ja, _ := json.Marshal(full{a, a.IssuesRemoved, a.HeadReadAt.UTC(), a.Version})
	jb, _ := json.Marshal(full{b, b.IssuesRemoved, b.HeadReadAt.UTC(), b.Version})
	return string(ja) == string(jb)
}

// TestReplayInAnyOrderConverges delivers one history of pushes, pull request and issue
// events, with duplicates, in several orders, against the same GitHub state, and
// compares the whole project each time.
func TestReplayInAnyOrderConverges(t *testing.T) {
	var want store.Project
	for run := range 5 {
		e := newTestEnv(t)
		pr := e.addProject(nil)
		e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
		head := e.gh.commit(e.repo(), "main", t0.Add(time.Hour), map[string]string{"docs/plan.md": planV2, "go.mod": goMod, "app/package.json": packageJSON})

		var ds []delivery
		ds = append(ds,
			e.push("main", "docs/plan.md"),
			e.push("main", "app/package.json"),
			e.push("main", "go.mod", "README.md"),
			e.push("main", "README.md"), // irrelevant
			e.issue("opened.payload.json", nil),
			e.issue("milestoned.payload.json", nil),
			e.issue("opened.payload.json", closedIssue("2019-05-15T16:00:00Z")),
			e.issue("edited.payload.json", nil),
			e.issue("labeled.payload.json", nil),
		)
		for _, f := range []string{"opened.payload.json", "closed.payload.json", "converted_to_draft.with-installation.payload.json", "ready_for_review.with-installation.payload.json", "synchronize.payload.json"} {
			ds = append(ds, e.build("pull_request", e.onRepo(loadPayload(t, "pull_request", f))))
		}
		rng := rand.New(rand.NewPCG(uint64(run), 3))
		for range 4 { // duplicates: the same delivery again, as a new message
			ds = append(ds, ds[rng.IntN(len(ds))])
		}
		rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
		// Batches of up to 4, as SQS hands them over.
		for i := 0; i < len(ds); i += 4 {
			batch := ds[i:min(i+4, len(ds))]
			msgs := make([]events.SQSMessage, 0, len(batch))
			for _, d := range batch {
				msgs = append(msgs, d.msg())
			}
			e.mustHandle(msgs...)
		}

		got := e.project(pr.ID)
		if got.LatestSnapshot == nil || got.LatestSnapshot.CommitSHA != head {
			t.Fatalf("run %d: latest snapshot %+v, want the head %s", run, got.LatestSnapshot, head)
		}
		got = normalize(got)
		if run == 0 {
			want = got
			continue
		}
		if !projectsEqual(got, want) {
			a, _ := json.Marshal(got)
			b, _ := json.Marshal(want)
			t.Errorf("run %d: state differs:\n got %s\nwant %s", run, a, b)
		}
	}
	if want.IssueSummary != (store.IssueSummary{Total: 2, Open: 1, Done: 1}) || want.PullRequests["2"].State != store.PullRequestClosed {
		t.Errorf("converged state = issues %+v, pull request %+v", want.IssueSummary, want.PullRequests["2"])
	}
	if len(want.LatestSnapshot.Manifests) != 2 || want.LatestSnapshot.TasksDone != 3 {
		t.Errorf("converged snapshot = %+v", want.LatestSnapshot)
	}
}
