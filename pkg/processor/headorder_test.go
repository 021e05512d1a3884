package processor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// The branch head as read last is the project's truth (issue 10, item 7): these tests
// fail when snapshots are ordered by commit time and SHA instead.

func TestForcePushToOlderCommitIsFollowed(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	older := e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	newer := e.gh.commit(e.repo(), "main", t0.Add(time.Hour), map[string]string{"docs/plan.md": planV2})
	e.mustHandle(e.push("main", "docs/plan.md").msg())
	if got := e.project(pr.ID); got.LatestSnapshot.CommitSHA != newer {
		t.Fatalf("latest = %s, want %s", got.LatestSnapshot.CommitSHA, newer)
	}

	// git reset --hard HEAD~1 && git push -f
	e.clock.Advance(time.Second)
	e.gh.setHead(e.repo(), "main", older)
	e.mustHandle(e.push("main", "docs/plan.md").msg())

	got := e.project(pr.ID)
	if got.LatestSnapshot.CommitSHA != older || got.LatestSnapshot.TasksDone != 1 {
		t.Errorf("after a force push back: latest = %s %d/%d, want the older commit %s 1/4",
			got.LatestSnapshot.CommitSHA, got.LatestSnapshot.TasksDone, got.LatestSnapshot.TasksTotal, older)
	}
	if n := len(e.snapshots(pr.ID)); n != 2 {
		t.Errorf("snapshots = %d, want both commits kept in history", n)
	}
}

func TestSameSecondCommits(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	at := t0.Add(30 * time.Second)
	first := e.gh.commit(e.repo(), "main", at, map[string]string{"docs/plan.md": planV1})
	e.mustHandle(e.push("main", "docs/plan.md").msg())

	// An edit within the same second whose SHA sorts before the first one's, so that
	// ordering by time then SHA would keep the first.
	var second string
	for i := 0; ; i++ {
		second = e.gh.commit(e.repo(), "main", at, map[string]string{"docs/plan.md": planV2 + strings.Repeat("\n", i)})
		if second < first {
			break
		}
	}
	e.clock.Advance(time.Second)
	e.mustHandle(e.push("main", "docs/plan.md").msg())

	got := e.project(pr.ID)
	if got.LatestSnapshot.CommitSHA != second || got.LatestSnapshot.TasksDone != 3 {
		t.Errorf("latest = %s %d/%d, want the second commit of the same second %s 3/4",
			got.LatestSnapshot.CommitSHA, got.LatestSnapshot.TasksDone, got.LatestSnapshot.TasksTotal, second)
	}
}

// gatedGitHub holds file reads of one commit until released: a worker that read the
// branch head and then stalls.
type gatedGitHub struct {
	*fakeGitHub
	ref     string
	reached chan struct{}
	release chan struct{}
}

func (g *gatedGitHub) FileContent(ctx context.Context, inst int64, owner, name, path, ref string, maxSize int64) ([]byte, error) {
	if ref == g.ref {
		select {
		case g.reached <- struct{}{}:
		default:
		}
		<-g.release
	}
	return g.fakeGitHub.FileContent(ctx, inst, owner, name, path, ref, maxSize)
}

func TestRacingWorkersKeepLaterRead(t *testing.T) {
	e := newTestEnv(t)
	pr := e.addProject(nil)
	kept := e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	// The abandoned commit has the later commit time (a rebased or amended commit, or a
	// committer's clock ahead): commit order and read order disagree.
	abandoned := e.gh.commit(e.repo(), "main", t0.Add(time.Hour), map[string]string{"docs/plan.md": planV2})

	// Worker A reads the head (abandoned) and stalls before writing.
	gated := &gatedGitHub{fakeGitHub: e.gh, ref: abandoned, reached: make(chan struct{}, 1), release: make(chan struct{})}
	slow := e.newProcessor(e.st, gated)
	done := make(chan events.SQSEventResponse)
	dA := e.push("main", "docs/plan.md")
	go func() {
		resp, _ := slow.Handle(e.ctx, events.SQSEvent{Records: []events.SQSMessage{dA.msg()}})
		done <- resp
	}()
	<-gated.reached

	// The branch is forced back; worker B reads it later and writes first.
	e.clock.Advance(time.Second)
	e.gh.setHead(e.repo(), "main", kept)
	e.mustHandle(e.push("main", "docs/plan.md").msg())

	close(gated.release)
	if resp := <-done; len(resp.BatchItemFailures) != 0 {
		t.Fatalf("slow worker failed: %+v\n%s", resp, e.logs.String())
	}
	got := e.project(pr.ID)
	if got.LatestSnapshot.CommitSHA != kept || got.LatestSnapshot.TasksDone != 1 {
		t.Errorf("latest = %s %d/%d, want %s 1/4 (read later) kept over the slow worker's %s",
			got.LatestSnapshot.CommitSHA, got.LatestSnapshot.TasksDone, got.LatestSnapshot.TasksTotal, kept, abandoned)
	}
	ups := e.updates(pr.ID)
	var sawKept bool
	for _, u := range ups {
		sawKept = sawKept || (u.DeliveryID == dA.env.DeliveryID && strings.Contains(u.Summary, "kept the later read"))
	}
	if !sawKept {
		t.Errorf("updates = %s, want the slow worker's saying it kept the later read", fmt.Sprint(ups))
	}
}
